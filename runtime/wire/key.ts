/**
 * KEY_REQ (0x05): `ver | type | zero padding` to 64 bytes, and KEY (0x06):
 * `ver | type | server public key (32)`, 34 bytes. The only messages a client
 * sends before it knows the server's key (trust on first use).
 */
import { err, ok, type Result } from 'neverthrow';
import { KEY_REQ_SIZE, KEY_SIZE, Type, VERSION } from './constants.ts';
import { OUTER_HEADER_SIZE, exactLength, openOuter } from './header.ts';
import type { WireError } from './errors.ts';
import type { KeyReq, ServerKeyMsg } from './types.ts';

export const KEY_MSG_SIZE = OUTER_HEADER_SIZE + KEY_SIZE;

export function encodeKeyReq(): Uint8Array {
  const out = new Uint8Array(KEY_REQ_SIZE);
  out[0] = VERSION;
  out[1] = Type.KEY_REQ;
  return out;
}

export function decodeKeyReq(bytes: Uint8Array): Result<KeyReq, WireError> {
  return openOuter(bytes, Type.KEY_REQ).andThen(() => {
    const bad = exactLength(bytes, KEY_REQ_SIZE, 'KEY_REQ');
    return bad === null ? ok<KeyReq>({ type: 'KEY_REQ' }) : err(bad);
  });
}

/** `key` must be 32 bytes (the caller's contract). */
export function encodeKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(KEY_MSG_SIZE);
  out[0] = VERSION;
  out[1] = Type.KEY;
  out.set(key.subarray(0, KEY_SIZE), OUTER_HEADER_SIZE);
  return out;
}

export function decodeKey(bytes: Uint8Array): Result<ServerKeyMsg, WireError> {
  return openOuter(bytes, Type.KEY).andThen(() => {
    const bad = exactLength(bytes, KEY_MSG_SIZE, 'KEY');
    return bad === null ? ok<ServerKeyMsg>({ type: 'KEY', key: Uint8Array.from(bytes.subarray(OUTER_HEADER_SIZE)) }) : err(bad);
  });
}
