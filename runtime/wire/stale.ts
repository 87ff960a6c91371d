/**
 * STALE (0x17): `ver | type | sid u32 | reset token (16)`, 22 bytes, sent in clear; the token
 * (runtime/crypto/reset.ts) is what makes it believable.
 */

import { err, type Result } from 'neverthrow';
import { RESET_TOKEN_SIZE, Type, VERSION } from './constants.ts';
import { OUTER_HEADER_SIZE, exactLength, openOuter } from './header.ts';
import type { WireError } from './errors.ts';
import type { Stale } from './types.ts';

export const STALE_SIZE = OUTER_HEADER_SIZE + 4 + RESET_TOKEN_SIZE;

/** `sid` is taken modulo 2^32; `token` must be RESET_TOKEN_SIZE bytes (the caller's contract). */
export function encodeStale(sid: number, token: Uint8Array): Uint8Array {
  const out = new Uint8Array(STALE_SIZE);
  const view = new DataView(out.buffer);
  view.setUint8(0, VERSION);
  view.setUint8(1, Type.STALE);
  view.setUint32(2, sid >>> 0);
  out.set(token.subarray(0, RESET_TOKEN_SIZE), OUTER_HEADER_SIZE + 4);
  return out;
}

export function decodeStale(bytes: Uint8Array): Result<Stale, WireError> {
  return openOuter(bytes, Type.STALE).andThen((r) => {
    const bad = exactLength(bytes, STALE_SIZE, 'STALE');
    if (bad !== null) return err(bad);
    const sid = r.u32('sid');
    const token = r.copy(RESET_TOKEN_SIZE, 'token');
    return r.finish<Stale>({ type: 'STALE', sid, token });
  });
}
