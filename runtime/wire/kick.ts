/** KICK body: `reason u8` (1 elsewhere, 2 dropped, 3 shutdown, 4 ticket revoked). */

import type { Result } from 'neverthrow';
import { KickReason, MAX_SESSION_BODY, type KickReasonCode } from './constants.ts';
import { decodeWith, encodeWith, type Reader, type Writer } from './buffer.ts';
import type { WireError } from './errors.ts';
import type { Kick, KickReasonName } from './types.ts';

export const KICK_REASON_CODE: Readonly<Record<KickReasonName, KickReasonCode>> = {
  elsewhere: KickReason.ELSEWHERE,
  dropped: KickReason.DROPPED,
  shutdown: KickReason.SHUTDOWN,
  ticket_revoked: KickReason.TICKET_REVOKED,
};

const KICK_REASON_NAME = new Map<number, KickReasonName>(
  Object.entries(KICK_REASON_CODE).map(([name, code]) => [code, name as KickReasonName]),
);

export function writeKick(w: Writer, msg: Kick): void {
  const code = Object.hasOwn(KICK_REASON_CODE, msg.reason) ? KICK_REASON_CODE[msg.reason] : undefined;
  if (code === undefined) w.fail('field', 'kick reason');
  else w.u8(code);
}

export function readKick(r: Reader): Kick {
  const code = r.u8('kick reason');
  const reason = KICK_REASON_NAME.get(code);
  if (r.error === null && reason === undefined) r.fail('field', `kick reason ${code}`);
  return { type: 'KICK', reason: reason ?? 'dropped' };
}

export function encodeKick(msg: Kick): Result<Uint8Array, WireError> {
  return encodeWith(MAX_SESSION_BODY, (w) => writeKick(w, msg), 1);
}

export function decodeKick(bytes: Uint8Array): Result<Kick, WireError> {
  return decodeWith(bytes, MAX_SESSION_BODY, readKick);
}
