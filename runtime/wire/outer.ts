/**
 * `decodeOuter`: the one entry point for a received datagram. Dispatches on
 * byte 0 (version) and byte 1 (type) to the per-type codecs; never throws.
 */

import { err, type Result } from 'neverthrow';
import { MAX_DATAGRAM, PEER_TYPES, SESSION_TYPES, Type, VERSION } from './constants.ts';
import { wireError, type WireError } from './errors.ts';
import type { Outer } from './types.ts';
import { decodeHello } from './hello.ts';
import { decodeWelcome } from './welcome.ts';
import { decodeAuth } from './auth.ts';
import { decodeAuthResult } from './auth-result.ts';
import { decodeSession } from './session.ts';
import { decodeStale } from './stale.ts';
import { decodeHold } from './hold.ts';
import { decodeKey, decodeKeyReq } from './key.ts';
import { decodePeer } from './peer.ts';

export { encodeHello, decodeHello, HELLO_NOISE_SIZE } from './hello.ts';
export { encodeWelcome, decodeWelcome, WELCOME_NOISE_SIZE, WELCOME_SIZE } from './welcome.ts';
export { encodeAuth, decodeAuth, authAad, AUTH_AAD_SIZE, AUTH_MIN_SIZE, MAX_AUTH_REQUEST } from './auth.ts';
export { encodeAuthResult, decodeAuthResult, AUTH_RESULT_AAD, AUTH_RESULT_MIN_SIZE, MAX_AUTH_RESULT } from './auth-result.ts';
export { encodeSessionHeader, encodeSession, decodeSession, sessionDatagram } from './session.ts';
export { encodeStale, decodeStale, STALE_SIZE } from './stale.ts';
export { encodeHold, decodeHold, HOLD_SIZE } from './hold.ts';
export { encodeKeyReq, decodeKeyReq, encodeKey, decodeKey, KEY_MSG_SIZE } from './key.ts';
export { encodePeerHeader, encodePeer, decodePeer } from './peer.ts';

/**
 * Decodes any datagram. Errors: 'oversize' (> 1200 bytes), 'truncated'
 * (empty or too short), 'version' (byte 0 ≠ 1), 'type' (unknown byte 1),
 * 'trailing' (fixed-size types only).
 */
export function decodeOuter(bytes: Uint8Array): Result<Outer, WireError> {
  if (!(bytes instanceof Uint8Array)) return err(wireError('field', 'input is not bytes'));
  if (bytes.length > MAX_DATAGRAM) return err(wireError('oversize', `${bytes.length} > ${MAX_DATAGRAM} bytes`));
  if (bytes.length === 0) return err(wireError('truncated', 'empty datagram'));
  if (bytes[0] !== VERSION) return err(wireError('version', `version ${bytes[0] ?? 0}`));
  if (bytes.length < 2) return err(wireError('truncated', 'no type byte'));
  const type = bytes[1] ?? 0;
  switch (type) {
    case Type.HELLO:
      return decodeHello(bytes);
    case Type.WELCOME:
      return decodeWelcome(bytes);
    case Type.AUTH:
      return decodeAuth(bytes);
    case Type.AUTH_RESULT:
      return decodeAuthResult(bytes);
    case Type.STALE:
      return decodeStale(bytes);
    case Type.HOLD:
      return decodeHold(bytes);
    case Type.KEY_REQ:
      return decodeKeyReq(bytes);
    case Type.KEY:
      return decodeKey(bytes);
    default:
      if (SESSION_TYPES.has(type)) return decodeSession(bytes);
      if (PEER_TYPES.has(type)) return decodePeer(bytes);
      return err(wireError('type', `type 0x${type.toString(16).padStart(2, '0')}`));
  }
}
