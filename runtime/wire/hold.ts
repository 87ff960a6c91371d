/**
 * HOLD (0x18): `ver | type | sid u32 | hold token (16) | wait ms u16`, 24 bytes, sent in clear by
 * a restarted server to each session it restored: "I am back and lost your session; wait for my
 * STALE, at most `waitMs`". The hold token (runtime/crypto/reset.ts) is what makes it believable.
 */

import { err, type Result } from 'neverthrow';
import { HOLD_MAX_WAIT_MS, RESET_TOKEN_SIZE, Type, VERSION } from './constants.ts';
import { OUTER_HEADER_SIZE, exactLength, openOuter } from './header.ts';
import { wireError, type WireError } from './errors.ts';
import type { Hold } from './types.ts';

export const HOLD_SIZE = OUTER_HEADER_SIZE + 4 + RESET_TOKEN_SIZE + 2;

/**
 * `sid` is taken modulo 2^32, `waitMs` is clamped to 0…HOLD_MAX_WAIT_MS; `token` must be
 * RESET_TOKEN_SIZE bytes (the caller's contract).
 */
export function encodeHold(sid: number, token: Uint8Array, waitMs: number): Uint8Array {
  const out = new Uint8Array(HOLD_SIZE);
  const view = new DataView(out.buffer);
  view.setUint8(0, VERSION);
  view.setUint8(1, Type.HOLD);
  view.setUint32(2, sid >>> 0);
  out.set(token.subarray(0, RESET_TOKEN_SIZE), OUTER_HEADER_SIZE + 4);
  view.setUint16(OUTER_HEADER_SIZE + 4 + RESET_TOKEN_SIZE, Math.max(0, Math.min(HOLD_MAX_WAIT_MS, Math.round(waitMs))));
  return out;
}

export function decodeHold(bytes: Uint8Array): Result<Hold, WireError> {
  return openOuter(bytes, Type.HOLD).andThen((r) => {
    const bad = exactLength(bytes, HOLD_SIZE, 'HOLD');
    if (bad !== null) return err(bad);
    const sid = r.u32('sid');
    const token = r.copy(RESET_TOKEN_SIZE, 'token');
    const waitMs = r.u16('wait');
    if (waitMs > HOLD_MAX_WAIT_MS) return err(wireError('field', `HOLD wait ${waitMs} ms is over ${HOLD_MAX_WAIT_MS}`));
    return r.finish<Hold>({ type: 'HOLD', sid, token, waitMs });
  });
}
