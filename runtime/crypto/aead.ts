/**
 * ChaCha20-Poly1305 (RFC 8439) as Noise uses it: a 32-byte key, a 12-byte
 * nonce made of 4 zero bytes and a 64-bit little-endian counter, and the
 * 16-byte tag appended to the ciphertext. Opening never throws.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { err, ok } from 'neverthrow';
import type { Result } from 'neverthrow';
import { KEY_SIZE, TAG_SIZE } from '../wire/constants.ts';
import type { DecryptFailed } from './errors.ts';

export const NONCE_SIZE = 12;
const ALGORITHM = 'chacha20-poly1305';
const EMPTY = new Uint8Array(0);

/** 4 zero bytes | counter as u64 little-endian. `counter` must be a safe non-negative integer. */
export function nonceFor(counter: number): Buffer {
  const nonce = Buffer.alloc(NONCE_SIZE);
  nonce.writeUInt32LE(counter >>> 0, 4);
  nonce.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 8);
  return nonce;
}

/** Encrypts under an explicit 12-byte nonce; returns ciphertext | tag. Key and nonce lengths are the caller's contract. */
export function sealWithNonce(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_SIZE });
  cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return Buffer.concat([head, tail, cipher.getAuthTag()]);
}

/** Decrypts ciphertext | tag under an explicit nonce; any failure (including bad sizes) is DecryptFailed. */
export function openWithNonce(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
): Result<Buffer, DecryptFailed> {
  if (key.length !== KEY_SIZE || nonce.length !== NONCE_SIZE || sealed.length < TAG_SIZE) {
    return err({ type: 'DecryptFailed' });
  }
  const bodyLength = sealed.length - TAG_SIZE;
  try {
    const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_SIZE });
    decipher.setAuthTag(sealed.subarray(bodyLength));
    decipher.setAAD(aad, { plaintextLength: bodyLength });
    const head = decipher.update(sealed.subarray(0, bodyLength));
    const tail = decipher.final();
    return ok(tail.length === 0 ? head : Buffer.concat([head, tail]));
  } catch {
    return err({ type: 'DecryptFailed' });
  }
}

/** Noise ENCRYPT(k, n, ad, plaintext). */
export function seal(key: Uint8Array, counter: number, aad: Uint8Array, plaintext: Uint8Array = EMPTY): Buffer {
  return sealWithNonce(key, nonceFor(counter), aad, plaintext);
}

/** Noise DECRYPT(k, n, ad, ciphertext). */
export function open(key: Uint8Array, counter: number, aad: Uint8Array, sealed: Uint8Array): Result<Buffer, DecryptFailed> {
  if (!Number.isSafeInteger(counter) || counter < 0) return err({ type: 'DecryptFailed' });
  return openWithNonce(key, nonceFor(counter), aad, sealed);
}
