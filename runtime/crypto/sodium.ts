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
import { createRequire } from 'node:module';
import * as aead from './aead.ts';

const TAG = 16;

interface Sodium {
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number;
}

function load(): Sodium | null {
  if (process.env.TRUCO_CRYPTO === 'node') return null;
  try {
    const s = createRequire(import.meta.url)('sodium-native') as Sodium;
    return typeof s.crypto_aead_chacha20poly1305_ietf_encrypt === 'function' ? s : null;
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

/** Seals `plaintext` under (key, counter) with `aad`; returns ciphertext | tag. */
export function seal(key: Uint8Array, counter: number, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  if (!sodium) return aead.seal(key, counter, aad, plaintext);
  const out = Buffer.allocUnsafe(plaintext.length + TAG);
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, aad, null, setNonce(counter), key);
  return out;
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
