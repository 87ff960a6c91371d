/**
 * AUTH_RESULT (0x04): `ver | type | ciphertext(result) + tag`; the associated
 * data is the 2-byte header.
 */

import { err, type Result } from 'neverthrow';
import { MAX_DATAGRAM, TAG_SIZE, Type, VERSION } from './constants.ts';
import { encodeWith } from './buffer.ts';
import { OUTER_HEADER_SIZE, minLength, openOuter, writeHeader } from './header.ts';
import type { WireError } from './errors.ts';
import type { AuthResultSealed } from './types.ts';

/** `ver | type` of AUTH_RESULT, the associated data of its seal. Treat as read-only. */
export const AUTH_RESULT_AAD: Uint8Array = Uint8Array.of(VERSION, Type.AUTH_RESULT);
export const AUTH_RESULT_MIN_SIZE = OUTER_HEADER_SIZE + TAG_SIZE;
/** Largest plaintext result that fits one AUTH_RESULT datagram (1182 bytes). */
export const MAX_AUTH_RESULT = MAX_DATAGRAM - OUTER_HEADER_SIZE - TAG_SIZE;

export function encodeAuthResult(sealed: Uint8Array): Result<Uint8Array, WireError> {
  return encodeWith(
    MAX_DATAGRAM,
    (w) => {
      writeHeader(w, Type.AUTH_RESULT);
      if (sealed.length < TAG_SIZE) w.fail('field', 'AUTH_RESULT sealed part shorter than a tag');
      w.bytes(sealed);
    },
    OUTER_HEADER_SIZE + sealed.length,
  );
}

/** `sealed` and `aad` are views into `bytes`. */
export function decodeAuthResult(bytes: Uint8Array): Result<AuthResultSealed, WireError> {
  return openOuter(bytes, Type.AUTH_RESULT).andThen((r) => {
    const bad = minLength(bytes, AUTH_RESULT_MIN_SIZE, 'AUTH_RESULT');
    if (bad !== null) return err(bad);
    const sealed = r.rest();
    return r.finish<AuthResultSealed>({
      type: 'AUTH_RESULT',
      sealed,
      aad: bytes.subarray(0, OUTER_HEADER_SIZE),
    });
  });
}
