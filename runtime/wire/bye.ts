/** BYE and BYE_ACK: empty bodies. */

import type { Result } from 'neverthrow';
import { MAX_SESSION_BODY } from './constants.ts';
import { decodeWith, encodeWith } from './buffer.ts';
import type { WireError } from './errors.ts';
import type { Bye, ByeAck } from './types.ts';

export function encodeBye(_msg: Bye = { type: 'BYE' }): Result<Uint8Array, WireError> {
  return encodeWith(MAX_SESSION_BODY, () => undefined, 0);
}

export function decodeBye(bytes: Uint8Array): Result<Bye, WireError> {
  return decodeWith<Bye>(bytes, MAX_SESSION_BODY, () => ({ type: 'BYE' }));
}

export function encodeByeAck(_msg: ByeAck = { type: 'BYE_ACK' }): Result<Uint8Array, WireError> {
  return encodeWith(MAX_SESSION_BODY, () => undefined, 0);
}

export function decodeByeAck(bytes: Uint8Array): Result<ByeAck, WireError> {
  return decodeWith<ByeAck>(bytes, MAX_SESSION_BODY, () => ({ type: 'BYE_ACK' }));
}
