/** WELCOME (0x02): `ver | type | e bytes32 | ciphertext(token) + tag`, 182 bytes exactly. */

import { err, type Result } from 'neverthrow';
import { KEY_SIZE, TAG_SIZE, TOKEN_SIZE, Type } from './constants.ts';
import { encodeWith } from './buffer.ts';
import { OUTER_HEADER_SIZE, exactLength, openOuter, writeHeader } from './header.ts';
import type { WireError } from './errors.ts';
import type { Welcome } from './types.ts';

/** Noise message 2: ephemeral key + encrypted token + tag = 180 bytes. */
export const WELCOME_NOISE_SIZE = KEY_SIZE + TOKEN_SIZE + TAG_SIZE;
export const WELCOME_SIZE = OUTER_HEADER_SIZE + WELCOME_NOISE_SIZE;

export function encodeWelcome(noise: Uint8Array): Result<Uint8Array, WireError> {
  return encodeWith(
    WELCOME_SIZE,
    (w) => {
      writeHeader(w, Type.WELCOME);
      w.bytes(noise, WELCOME_NOISE_SIZE, 'WELCOME noise');
    },
    WELCOME_SIZE,
  );
}

export function decodeWelcome(bytes: Uint8Array): Result<Welcome, WireError> {
  return openOuter(bytes, Type.WELCOME).andThen((r) => {
    const bad = exactLength(bytes, WELCOME_SIZE, 'WELCOME');
    if (bad !== null) return err(bad);
    const noise = r.view(WELCOME_NOISE_SIZE, 'WELCOME noise');
    return r.finish<Welcome>({ type: 'WELCOME', noise });
  });
}
