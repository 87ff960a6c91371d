/**
 * X25519 key pairs and Diffie-Hellman over node:crypto, plus the textual forms
 * of keys (base64url) and the `SHA256:` fingerprint shown to users.
 *
 * Private keys stay inside KeyObjects: importing one from raw bytes costs a
 * scalar multiplication (~50 µs), so a key pair is imported once and reused.
 * Public keys travel as raw 32-byte arrays.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { err, ok } from 'neverthrow';
import type { Result } from 'neverthrow';
import { KEY_SIZE } from '../wire/constants.ts';
import type { InvalidPublicKey, KeyMalformed } from './errors.ts';
import * as sodium from './sodium.ts';

export interface KeyPair {
  /** raw 32-byte X25519 public key */
  readonly publicKey: Uint8Array;
  /** the private half, never leaves node:crypto except through exportSecret */
  readonly privateKey: KeyObject;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function publicFromPrivate(privateKey: KeyObject): Uint8Array {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/**
 * A fresh random X25519 key pair.
 *
 * Not `generateKeyPairSync`: on Node 20 its native job keeps a copy of the new key, sharing the
 * key's lock; when a garbage collection that happens to run while that key is exported (the JWK
 * in publicFromPrivate) collects the job, its destructor takes the lock the export holds and the
 * process hangs for good (seen in gdb on a server answering HELLOs in a 20 000-client bench).
 * Importing 32 random bytes makes no job; any 32 bytes are an X25519 secret.
 */
export function generateKeyPair(): KeyPair {
  const pair = keyPairFromSecret(randomBytes(KEY_SIZE));
  if (pair.isErr()) throw new Error(pair.error.reason);
  return pair.value;
}

/**
 * The key pair whose private scalar is these 32 bytes (clamping is done by
 * X25519 itself, as RFC 7748 says).
 */
export function keyPairFromSecret(secret: Uint8Array): Result<KeyPair, KeyMalformed> {
  if (secret.length !== KEY_SIZE) return err({ type: 'KeyMalformed', reason: `secret key must be ${KEY_SIZE} bytes` });
  try {
    // OpenSSL derives the public half from `d`; the `x` given here is only a
    // placeholder that JWK import requires, and is recomputed below.
    const d = Buffer.from(secret).toString('base64url');
    const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: d }, format: 'jwk' });
    return ok({ publicKey: publicFromPrivate(privateKey), privateKey });
  } catch {
    return err({ type: 'KeyMalformed', reason: 'not an X25519 secret key' });
  }
}

/** The raw 32 private bytes, for storage in the server key file only. */
export function exportSecret(pair: KeyPair): Uint8Array {
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return Buffer.from(jwk.d ?? '', 'base64url');
}

/**
 * The raw secret of a private KeyObject, exported once and kept beside it (never written out):
 * libsodium (sodium.ts) multiplies raw bytes, so `dh` with a long-lived key (the server's static
 * key, a login key pair) pays the export once instead of a JWK import per call.
 */
const rawSecrets = new WeakMap<KeyObject, Uint8Array>();
function rawSecret(privateKey: KeyObject): Uint8Array {
  let secret = rawSecrets.get(privateKey);
  if (!secret) {
    secret = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
    rawSecrets.set(privateKey, secret);
  }
  return secret;
}

/**
 * A one-use X25519 key as raw bytes (a Noise ephemeral): no KeyObject is made, so with libsodium
 * it costs one base-point multiplication (~30 µs) instead of ~100 µs through node:crypto.
 */
export interface RawKeyPair {
  readonly publicKey: Uint8Array;
  readonly secret: Uint8Array;
}

export function generateRawKeyPair(): RawKeyPair {
  const secret = sodium.random(KEY_SIZE);
  const publicKey = sodium.scalarmultBase(secret);
  if (publicKey) return { publicKey, secret };
  const pair = keyPairFromSecret(secret);
  if (pair.isErr()) throw new Error(pair.error.reason);
  return { publicKey: pair.value.publicKey, secret };
}

/** The raw form of a key pair (for a fixed ephemeral in test vectors, or the server's static key). */
export function rawKeyPair(pair: KeyPair): RawKeyPair {
  return { publicKey: pair.publicKey, secret: rawSecret(pair.privateKey) };
}

/** X25519(secret, public) on raw bytes; the same failures as `dh`. */
export function x25519(secret: Uint8Array, publicKey: Uint8Array): Result<Uint8Array, InvalidPublicKey> {
  if (publicKey.length !== KEY_SIZE || secret.length !== KEY_SIZE) return err({ type: 'InvalidPublicKey' });
  const shared = sodium.scalarmult(secret, publicKey);
  if (shared !== undefined) return shared === null || allZero(shared) ? err({ type: 'InvalidPublicKey' }) : ok(shared);
  const pair = keyPairFromSecret(secret);
  if (pair.isErr()) return err({ type: 'InvalidPublicKey' });
  return nodeDh(pair.value.privateKey, publicKey);
}

function importPublic(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
}

function allZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (const b of bytes) acc |= b;
  return acc === 0;
}

/**
 * X25519(private, public). Fails, never throws, for a key of the wrong length
 * or a low-order point (all-zero shared secret, which OpenSSL refuses).
 */
export function dh(privateKey: KeyObject, publicKey: Uint8Array): Result<Uint8Array, InvalidPublicKey> {
  if (publicKey.length !== KEY_SIZE) return err({ type: 'InvalidPublicKey' });
  if (sodium.HANDSHAKE_BACKEND === 'libsodium') return x25519(rawSecret(privateKey), publicKey);
  return nodeDh(privateKey, publicKey);
}

function nodeDh(privateKey: KeyObject, publicKey: Uint8Array): Result<Uint8Array, InvalidPublicKey> {
  try {
    const shared = diffieHellman({ privateKey, publicKey: importPublic(publicKey) });
    if (allZero(shared)) return err({ type: 'InvalidPublicKey' });
    return ok(shared);
  } catch {
    return err({ type: 'InvalidPublicKey' });
  }
}

/** `SHA256:` + unpadded base64url of sha256(public key), as shown to users and in pin errors. */
export function fingerprint(publicKey: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(publicKey).digest('base64url');
}

/** The textual form of a 32-byte key: unpadded base64url (43 characters). */
export function encodeKey(key: Uint8Array): string {
  return Buffer.from(key).toString('base64url');
}

/** Parses `encodeKey` output; anything else is KeyMalformed. */
export function decodeKey(text: string): Result<Uint8Array, KeyMalformed> {
  const t = text.trim();
  if (t.length !== 43 || !B64URL.test(t)) return err({ type: 'KeyMalformed', reason: 'expected 43 base64url characters' });
  const bytes = Buffer.from(t, 'base64url');
  // The 43rd character carries 2 padding bits that must be zero for a canonical encoding.
  if (bytes.length !== KEY_SIZE || encodeKey(bytes) !== t) {
    return err({ type: 'KeyMalformed', reason: 'not a canonical 32-byte key' });
  }
  return ok(bytes);
}

/** Constant-time equality of two byte strings (length is not secret). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
