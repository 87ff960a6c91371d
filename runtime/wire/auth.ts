/**
 * AUTH (0x03): `ver | type | token 132 | ciphertext(request) + tag`; the
 * associated data is the first 134 bytes (header and token).
 */

import { err, type Result } from 'neverthrow';
import { MAX_DATAGRAM, TAG_SIZE, TOKEN_SIZE, Type, VERSION } from './constants.ts';
import { encodeWith } from './buffer.ts';
import { OUTER_HEADER_SIZE, minLength, openOuter, writeHeader } from './header.ts';
import type { WireError } from './errors.ts';
import type { Auth } from './types.ts';

export const AUTH_AAD_SIZE = OUTER_HEADER_SIZE + TOKEN_SIZE;
export const AUTH_MIN_SIZE = AUTH_AAD_SIZE + TAG_SIZE;
/** Largest plaintext request that fits one AUTH datagram (1050 bytes). */
export const MAX_AUTH_REQUEST = MAX_DATAGRAM - AUTH_AAD_SIZE - TAG_SIZE;

/** The associated data of an AUTH: `ver | type | token` (134 bytes for a 132-byte token). */
export function authAad(token: Uint8Array): Uint8Array {
  const out = new Uint8Array(OUTER_HEADER_SIZE + token.length);
  out[0] = VERSION;
  out[1] = Type.AUTH;
  out.set(token, OUTER_HEADER_SIZE);
  return out;
}

export function encodeAuth(token: Uint8Array, sealed: Uint8Array): Result<Uint8Array, WireError> {
  return encodeWith(
    MAX_DATAGRAM,
    (w) => {
      writeHeader(w, Type.AUTH);
      w.bytes(token, TOKEN_SIZE, 'token');
      if (sealed.length < TAG_SIZE) w.fail('field', 'AUTH sealed part shorter than a tag');
      w.bytes(sealed);
    },
    AUTH_AAD_SIZE + sealed.length,
  );
}

/** `token`, `sealed` and `aad` are views into `bytes`. */
export function decodeAuth(bytes: Uint8Array): Result<Auth, WireError> {
  return openOuter(bytes, Type.AUTH).andThen((r) => {
    const bad = minLength(bytes, AUTH_MIN_SIZE, 'AUTH');
    if (bad !== null) return err(bad);
    const token = r.view(TOKEN_SIZE, 'token');
    const sealed = r.rest();
    return r.finish<Auth>({ type: 'AUTH', token, sealed, aad: bytes.subarray(0, AUTH_AAD_SIZE) });
  });
}
