/**
 * ChaCha20-Poly1305 (IETF, RFC 8439) for session and peer traffic, through libsodium
 * (`sodium-native`) when it loads, else through node:crypto (aead.ts). Same construction,
 * same bytes: the nonce is 4 zero bytes + the 64-bit little-endian counter, the 16-byte tag
 * follows the ciphertext. Either side may use either backend.
 *
 * Why: node:crypto builds a cipher object (a Transform stream around an OpenSSL context) per
 * datagram, ~10-15 µs for a 19-byte TRUCO on the reference machine; libsodium seals it in
 * ~1 µs. At 20 000 users a second that is the difference between a third of a core and almost
 * nothing (see test/bench/README in the bench report).
 *
 * `TRUCO_CRYPTO=node` forces the node:crypto path (tests cross-check both).
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import * as aead from './aead.ts';

const TAG = 16;

interface Sodium {
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number;
  /** throws when the result is all zero (a low-order point) */
  crypto_scalarmult(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
  crypto_scalarmult_base(q: Uint8Array, n: Uint8Array): void;
  crypto_hash_sha256(out: Uint8Array, m: Uint8Array): void;
  randombytes_buf(b: Uint8Array): void;
}

function load(): Sodium | null {
  if (process.env.TRUCO_CRYPTO === 'node') return null;
  try {
    const s = createRequire(import.meta.url)('sodium-native') as Sodium;
    const wanted = ['crypto_aead_chacha20poly1305_ietf_encrypt', 'crypto_scalarmult', 'crypto_scalarmult_base', 'crypto_hash_sha256', 'randombytes_buf'] as const;
    return wanted.every((f) => typeof s[f] === 'function') ? s : null;
  } catch {
    return null;
  }
}

const sodium = load();

/** Which implementation seals session traffic in this process. */
export const AEAD_BACKEND: 'libsodium' | 'node:crypto' = sodium ? 'libsodium' : 'node:crypto';

// One scratch nonce: JavaScript is single-threaded and the calls below are synchronous.
const nonce = Buffer.alloc(12);
function setNonce(counter: number): Buffer {
  nonce.writeUInt32LE(counter >>> 0, 4);
  nonce.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 8);
  return nonce;
}

/** Seals under an explicit 12-byte nonce (the WELCOME token's random one); returns ciphertext | tag. */
export function sealWithNonce(key: Uint8Array, nonce12: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  if (!sodium) return aead.sealWithNonce(key, nonce12, aad, plaintext);
  const out = Buffer.allocUnsafe(plaintext.length + TAG);
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, aad, null, nonce12, key);
  return out;
}

/** Opens ciphertext | tag under an explicit 12-byte nonce; null when it does not authenticate. */
export function openWithNonce(key: Uint8Array, nonce12: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | null {
  if (!sodium) {
    const r = aead.openWithNonce(key, nonce12, aad, sealed);
    return r.isOk() ? r.value : null;
  }
  if (sealed.length < TAG || key.length !== 32 || nonce12.length !== 12) return null;
  const out = Buffer.allocUnsafe(sealed.length - TAG);
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, aad, nonce12, key);
    return out;
  } catch {
    return null;
  }
}

// ---- X25519 and SHA-256 for the handshake (PROTOCOL.md §3) ---------------------------------------
// The same functions as node:crypto's (RFC 7748 X25519 with the scalar clamped, FIPS 180-4
// SHA-256): test/crypto/noise.test.ts runs the Noise test vectors through both backends. Why: on
// the reference machine a HELLO answered through node:crypto cost ~440 µs, 300 of them in X25519
// (node imports every raw key as a JWK KeyObject, ~20-50 µs, before a ~45 µs scalar
// multiplication); libsodium multiplies the raw bytes directly.

/** Which implementation computes X25519 and SHA-256 in the handshake. */
export const HANDSHAKE_BACKEND: 'libsodium' | 'node:crypto' = sodium ? 'libsodium' : 'node:crypto';

/** X25519(secret, public) through libsodium; null: libsodium is not loaded, or the result is all zero (low-order point). */
export function scalarmult(secret: Uint8Array, publicKey: Uint8Array): Buffer | null | undefined {
  if (!sodium) return undefined;
  const out = Buffer.allocUnsafe(32);
  try {
    sodium.crypto_scalarmult(out, secret, publicKey);
    return out;
  } catch {
    return null;
  }
}

/** The X25519 public key of a 32-byte secret through libsodium; undefined when it is not loaded. */
export function scalarmultBase(secret: Uint8Array): Buffer | undefined {
  if (!sodium) return undefined;
  const out = Buffer.allocUnsafe(32);
  sodium.crypto_scalarmult_base(out, secret);
  return out;
}

/** SHA-256 of `data` through libsodium; undefined when it is not loaded. */
export function sha256(data: Uint8Array): Buffer | undefined {
  if (!sodium) return undefined;
  const out = Buffer.allocUnsafe(32);
  sodium.crypto_hash_sha256(out, data);
  return out;
}

/** `n` random bytes from libsodium's CSPRNG, or node:crypto's when libsodium is not loaded. */
export function random(n: number): Buffer {
  if (!sodium) return randomBytes(n);
  const out = Buffer.allocUnsafe(n);
  sodium.randombytes_buf(out);
  return out;
}

/** Seals `plaintext` under (key, counter) with `aad`; returns ciphertext | tag. */
export function seal(key: Uint8Array, counter: number, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  if (!sodium) return aead.seal(key, counter, aad, plaintext);
  const out = Buffer.allocUnsafe(plaintext.length + TAG);
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, aad, null, setNonce(counter), key);
  return out;
}

/**
 * Seals `plaintext` into `out` right after the `headerLength` bytes of header already written at its
 * start, which are the associated data: `out` is the whole datagram, header ‖ ciphertext ‖ tag, so
 * `out.length` must be `headerLength + plaintext.length + 16`. One buffer per datagram instead of
 * a header, a sealed part and their concatenation.
 */
export function sealAfter(key: Uint8Array, counter: number, out: Uint8Array, headerLength: number, plaintext: Uint8Array): void {
  if (out.length !== headerLength + plaintext.length + TAG) throw new RangeError('sealAfter: out has the wrong length');
  const aad = out.subarray(0, headerLength);
  if (!sodium) {
    out.set(aead.seal(key, counter, aad, plaintext), headerLength);
    return;
  }
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out.subarray(headerLength), plaintext, aad, null, setNonce(counter), key);
}

/** Opens ciphertext | tag; null when it does not authenticate (or has no room for a tag). */
export function open(key: Uint8Array, counter: number, aad: Uint8Array, sealed: Uint8Array): Buffer | null {
  if (!sodium) {
    const r = aead.open(key, counter, aad, sealed);
    return r.isOk() ? r.value : null;
  }
  if (sealed.length < TAG || key.length !== 32) return null;
  const out = Buffer.allocUnsafe(sealed.length - TAG);
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, sealed, aad, setNonce(counter), key);
    return out;
  } catch {
    return null;
  }
}
