/** Session body dispatch: the plaintext inside a session datagram, keyed by its type code. */

import { err, type Result } from 'neverthrow';
import { MAX_SESSION_BODY, SESSION_TYPES, Type } from './constants.ts';
import { wireError, type WireError } from './errors.ts';
import type { SessionBody } from './types.ts';
import { decodeTruco, encodeTruco } from './truco.ts';
import { decodeSeis, encodeSeis } from './seis.ts';
import { decodeRosterPage, decodeRosterReq, encodeRosterPage, encodeRosterReq } from './roster.ts';
import { decodeBye, decodeByeAck, encodeBye, encodeByeAck } from './bye.ts';
import { decodeKick, encodeKick } from './kick.ts';

/** The session type code of a body. */
export function bodyCode(body: SessionBody): number {
  return Type[body.type];
}

/**
 * Decodes the plaintext of a session datagram of type `code`. Errors: 'type'
 * (not a session code), 'oversize' (> 1170 bytes), then the body codec's own.
 */
export function decodeBody(code: number, bytes: Uint8Array): Result<SessionBody, WireError> {
  if (!SESSION_TYPES.has(code)) return err(wireError('type', `not a session type: ${String(code)}`));
  if (!(bytes instanceof Uint8Array)) return err(wireError('field', 'input is not bytes'));
  if (bytes.length > MAX_SESSION_BODY) return err(wireError('oversize', `${bytes.length} > ${MAX_SESSION_BODY} bytes`));
  switch (code) {
    case Type.TRUCO:
      return decodeTruco(bytes);
    case Type.SEIS:
      return decodeSeis(bytes);
    case Type.ROSTER_REQ:
      return decodeRosterReq(bytes);
    case Type.ROSTER_PAGE:
      return decodeRosterPage(bytes);
    case Type.BYE:
      return decodeBye(bytes);
    case Type.BYE_ACK:
      return decodeByeAck(bytes);
    case Type.KICK:
      return decodeKick(bytes);
    default:
      return err(wireError('type', `not a session type: ${String(code)}`));
  }
}

/** Encodes a body (≤ 1170 bytes, else 'oversize') with the type code of its datagram. */
export function encodeBody(body: SessionBody): Result<{ code: number; bytes: Uint8Array }, WireError> {
  let bytes: Result<Uint8Array, WireError>;
  switch (body.type) {
    case 'TRUCO':
      bytes = encodeTruco(body);
      break;
    case 'SEIS':
      bytes = encodeSeis(body);
      break;
    case 'ROSTER_REQ':
      bytes = encodeRosterReq(body);
      break;
    case 'ROSTER_PAGE':
      bytes = encodeRosterPage(body);
      break;
    case 'BYE':
      bytes = encodeBye(body);
      break;
    case 'BYE_ACK':
      bytes = encodeByeAck(body);
      break;
    case 'KICK':
      bytes = encodeKick(body);
      break;
    default:
      return err(wireError('type', 'unknown body type'));
  }
  return bytes.map((b) => ({ code: Type[body.type], bytes: b }));
}
