/** HELLO (0x01): `ver | type | e bytes32 | tag 16 | zero padding`, 256 bytes exactly. */

import { err, type Result } from 'neverthrow';
import { HELLO_SIZE, KEY_SIZE, TAG_SIZE, Type } from './constants.ts';
import { encodeWith } from './buffer.ts';
import { exactLength, openOuter, writeHeader } from './header.ts';
import type { WireError } from './errors.ts';
import type { Hello } from './types.ts';

/** Noise message 1: ephemeral key + tag of the empty payload. */
export const HELLO_NOISE_SIZE = KEY_SIZE + TAG_SIZE;

export function encodeHello(noise: Uint8Array): Result<Uint8Array, WireError> {
  return encodeWith(
    HELLO_SIZE,
    (w) => {
      writeHeader(w, Type.HELLO);
      w.bytes(noise, HELLO_NOISE_SIZE, 'HELLO noise');
      w.zeros(HELLO_SIZE - w.length);
    },
    HELLO_SIZE,
  );
}

/** The padding is not inspected; only the total length (256) is enforced. */
export function decodeHello(bytes: Uint8Array): Result<Hello, WireError> {
  return openOuter(bytes, Type.HELLO).andThen((r) => {
    const bad = exactLength(bytes, HELLO_SIZE, 'HELLO');
    if (bad !== null) return err(bad);
    const noise = r.view(HELLO_NOISE_SIZE, 'HELLO noise');
    r.rest();
    return r.finish<Hello>({ type: 'HELLO', noise });
  });
}
