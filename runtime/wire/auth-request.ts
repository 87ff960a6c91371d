/**
 * AUTH request body (sealed inside AUTH):
 * `1` SIGNUP `email str8 | password str8`,
 * `2` LOGIN  `email str8 | password str8 | peerKey bytes32`,
 * `3` RESUME `email str8 | ticket (48) | peerKey bytes32 | epoch u32 | version u32` (the roster the
 *   client holds; version 0xffffffff: none).
 */

import type { Result } from 'neverthrow';
import { AuthKind, KEY_SIZE, MAX_PASSWORD_BYTES, TICKET_SIZE } from './constants.ts';
import { decodeWith, encodeWith, type Reader, type StrBounds, type Writer } from './buffer.ts';
import { EMAIL } from './member.ts';
import { MAX_AUTH_REQUEST } from './auth.ts';
import type { WireError } from './errors.ts';
import type { AuthRequest } from './types.ts';

/** Passwords: 1..255 UTF-8 bytes. */
export const PASSWORD: StrBounds = { min: 1, max: MAX_PASSWORD_BYTES, what: 'password' };

export function writeAuthRequest(w: Writer, req: AuthRequest): void {
  switch (req.kind) {
    case 'signup':
      w.u8(AuthKind.SIGNUP);
      w.str8(req.email, EMAIL);
      w.str8(req.password, PASSWORD);
      return;
    case 'login':
      w.u8(AuthKind.LOGIN);
      w.str8(req.email, EMAIL);
      w.str8(req.password, PASSWORD);
      w.bytes(req.peerKey, KEY_SIZE, 'peerKey');
      return;
    case 'resume':
      w.u8(AuthKind.RESUME);
      w.str8(req.email, EMAIL);
      w.bytes(req.ticket, TICKET_SIZE, 'ticket');
      w.bytes(req.peerKey, KEY_SIZE, 'peerKey');
      w.u32(req.epoch, 'epoch');
      w.u32(req.version, 'version');
      return;
    default:
      w.fail('field', 'auth request kind');
  }
}

export function readAuthRequest(r: Reader): AuthRequest {
  const kind = r.u8('auth request kind');
  if (r.error === null) {
    switch (kind) {
      case AuthKind.SIGNUP: {
        const email = r.str8(EMAIL);
        const password = r.str8(PASSWORD);
        return { kind: 'signup', email, password };
      }
      case AuthKind.LOGIN: {
        const email = r.str8(EMAIL);
        const password = r.str8(PASSWORD);
        const peerKey = r.copy(KEY_SIZE, 'peerKey');
        return { kind: 'login', email, password, peerKey };
      }
      case AuthKind.RESUME: {
        const email = r.str8(EMAIL);
        const ticket = r.copy(TICKET_SIZE, 'ticket');
        const peerKey = r.copy(KEY_SIZE, 'peerKey');
        const epoch = r.u32('epoch');
        const version = r.u32('version');
        return { kind: 'resume', email, ticket, peerKey, epoch, version };
      }
      default:
        r.fail('field', `auth request kind ${kind}`);
    }
  }
  return { kind: 'signup', email: '', password: '' };
}

export function encodeAuthRequest(req: AuthRequest): Result<Uint8Array, WireError> {
  return encodeWith(MAX_AUTH_REQUEST, (w) => writeAuthRequest(w, req));
}

export function decodeAuthRequest(bytes: Uint8Array): Result<AuthRequest, WireError> {
  return decodeWith(bytes, MAX_AUTH_REQUEST, readAuthRequest);
}
