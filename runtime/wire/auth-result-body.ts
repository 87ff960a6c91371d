/**
 * AUTH_RESULT body (sealed inside AUTH_RESULT): `status u8` then, for
 * OK_SESSION `sid u32 | ticket (48) | reset token (16) | interval ms u32 | misses u8 | epoch u32 |
 * address`,
 * for WEAK_PASSWORD `min length u8`, for RATE_LIMITED `retry after s u16`.
 */

import type { Result } from 'neverthrow';
import { AuthStatus, RESET_TOKEN_SIZE, TICKET_SIZE } from './constants.ts';
import { decodeWith, encodeWith, type Reader, type Writer } from './buffer.ts';
import { readAddress, writeAddress } from './address.ts';
import { MAX_AUTH_RESULT } from './auth-result.ts';
import type { WireError } from './errors.ts';
import type { AuthResult } from './types.ts';

export type AuthStatusName = AuthResult['status'];

const STATUS_CODE: Record<AuthStatusName, number> = {
  signed_up: AuthStatus.OK_SIGNED_UP,
  session: AuthStatus.OK_SESSION,
  email_taken: AuthStatus.EMAIL_TAKEN,
  invalid_email: AuthStatus.INVALID_EMAIL,
  weak_password: AuthStatus.WEAK_PASSWORD,
  unknown_email: AuthStatus.UNKNOWN_EMAIL,
  wrong_password: AuthStatus.WRONG_PASSWORD,
  rate_limited: AuthStatus.RATE_LIMITED,
  ticket_refused: AuthStatus.TICKET_REFUSED,
  server_error: AuthStatus.SERVER_ERROR,
};

const STATUS_NAME = new Map<number, AuthStatusName>(
  Object.entries(STATUS_CODE).map(([name, code]) => [code, name as AuthStatusName]),
);

export function writeAuthResult(w: Writer, result: AuthResult): void {
  const code = Object.hasOwn(STATUS_CODE, result.status) ? STATUS_CODE[result.status] : undefined;
  if (code === undefined) {
    w.fail('field', 'auth result status');
    return;
  }
  w.u8(code);
  switch (result.status) {
    case 'session':
      w.u32(result.sid, 'sid');
      w.bytes(result.ticket, TICKET_SIZE, 'ticket');
      w.bytes(result.resetToken, RESET_TOKEN_SIZE, 'resetToken');
      w.u32(result.intervalMs, 'intervalMs');
      w.u8(result.misses, 'misses');
      w.u32(result.epoch, 'epoch');
      writeAddress(w, result.address);
      return;
    case 'weak_password':
      w.u8(result.minLength, 'minLength');
      return;
    case 'rate_limited':
      w.u16(result.retryAfterS, 'retryAfterS');
      return;
    default:
      return;
  }
}

export function readAuthResult(r: Reader): AuthResult {
  const code = r.u8('auth result status');
  if (r.error !== null) return { status: 'server_error' };
  const status = STATUS_NAME.get(code);
  switch (status) {
    case undefined:
      r.fail('field', `auth result status ${code}`);
      return { status: 'server_error' };
    case 'session': {
      const sid = r.u32('sid');
      const ticket = r.copy(TICKET_SIZE, 'ticket');
      const resetToken = r.copy(RESET_TOKEN_SIZE, 'resetToken');
      const intervalMs = r.u32('intervalMs');
      const misses = r.u8('misses');
      const epoch = r.u32('epoch');
      const address = readAddress(r);
      return { status, sid, ticket, resetToken, intervalMs, misses, epoch, address };
    }
    case 'weak_password':
      return { status, minLength: r.u8('minLength') };
    case 'rate_limited':
      return { status, retryAfterS: r.u16('retryAfterS') };
    default:
      return { status };
  }
}

export function encodeAuthResultBody(result: AuthResult): Result<Uint8Array, WireError> {
  return encodeWith(MAX_AUTH_RESULT, (w) => writeAuthResult(w, result));
}

export function decodeAuthResultBody(bytes: Uint8Array): Result<AuthResult, WireError> {
  return decodeWith(bytes, MAX_AUTH_RESULT, readAuthResult);
}
