import { describe, expect, it } from 'vitest';
import {
  decodeKey,
  dh,
  encodeKey,
  equalBytes,
  exportSecret,
  fingerprint,
  generateKeyPair,
  generateRawKeyPair,
  keyPairFromSecret,
  rawKeyPair,
  x25519,
} from '../../runtime/crypto/keys.ts';
import { createPrivateKey, createPublicKey, diffieHellman, randomBytes } from 'node:crypto';

const hex = (s: string) => Buffer.from(s, 'hex');
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('keys (X25519)', () => {
  it('reproduces RFC 7748 §6.1 in both directions', () => {
    const alice = keyPairFromSecret(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'))._unsafeUnwrap();
    const bob = keyPairFromSecret(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'))._unsafeUnwrap();
    expect(toHex(alice.publicKey)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(bob.publicKey)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(toHex(dh(alice.privateKey, bob.publicKey)._unsafeUnwrap())).toBe(shared);
    expect(toHex(dh(bob.privateKey, alice.publicKey)._unsafeUnwrap())).toBe(shared);
  });

  it('generates distinct key pairs whose secrets export and re-import to the same pair', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.publicKey.length).toBe(32);
    expect(equalBytes(a.publicKey, b.publicKey)).toBe(false);
    const again = keyPairFromSecret(exportSecret(a))._unsafeUnwrap();
    expect(equalBytes(again.publicKey, a.publicKey)).toBe(true);
    expect(equalBytes(dh(again.privateKey, b.publicKey)._unsafeUnwrap(), dh(b.privateKey, a.publicKey)._unsafeUnwrap())).toBe(true);
  });

  it('computes on raw bytes (libsodium) exactly what node:crypto computes, and refuses the same points', () => {
    const nodeDh = (secret: Uint8Array, pub: Uint8Array) =>
      diffieHellman({
        privateKey: createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: Buffer.from(secret).toString('base64url'), x: 'AA' }, format: 'jwk' }),
        publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(pub).toString('base64url') }, format: 'jwk' }),
      });
    for (let i = 0; i < 200; i++) {
      const a = generateRawKeyPair();
      const b = i % 2 ? generateRawKeyPair() : { publicKey: randomBytes(32) };
      // the public half is what node derives from the same secret
      expect(toHex(a.publicKey)).toBe(toHex(keyPairFromSecret(a.secret)._unsafeUnwrap().publicKey));
      expect(toHex(x25519(a.secret, b.publicKey)._unsafeUnwrap())).toBe(toHex(nodeDh(a.secret, b.publicKey)));
    }
    const alice = keyPairFromSecret(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'))._unsafeUnwrap();
    expect(toHex(rawKeyPair(alice).secret)).toBe('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    expect(toHex(x25519(rawKeyPair(alice).secret, hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'))._unsafeUnwrap())).toBe(
      '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
    );
    expect(x25519(generateRawKeyPair().secret, Buffer.alloc(32))._unsafeUnwrapErr()).toEqual({ type: 'InvalidPublicKey' });
    expect(x25519(Buffer.alloc(31), Buffer.alloc(32, 9)).isErr()).toBe(true);
  });

  it('refuses low-order points and wrong lengths instead of throwing', () => {
    const me = generateKeyPair();
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ];
    for (const p of lowOrder) expect(dh(me.privateKey, hex(p))._unsafeUnwrapErr()).toEqual({ type: 'InvalidPublicKey' });
    expect(dh(me.privateKey, Buffer.alloc(31, 9)).isErr()).toBe(true);
    expect(dh(me.privateKey, Buffer.alloc(33, 9)).isErr()).toBe(true);
    expect(keyPairFromSecret(Buffer.alloc(16)).isErr()).toBe(true);
  });

  it('prints fingerprints as SHA256: + unpadded base64url of sha256(key)', () => {
    const key = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const fp = fingerprint(key);
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9_-]{43}$/);
    const digest = Buffer.from(fp.slice('SHA256:'.length), 'base64url');
    expect(digest.length).toBe(32);
    expect(fingerprint(generateKeyPair().publicKey)).not.toBe(fp);
  });

  it('encodes keys as 43 base64url characters and rejects anything else', () => {
    const k = generateKeyPair().publicKey;
    const text = encodeKey(k);
    expect(text).toHaveLength(43);
    expect(equalBytes(decodeKey(`  ${text}\n`)._unsafeUnwrap(), k)).toBe(true);
    expect(decodeKey(text.slice(1)).isErr()).toBe(true);
    expect(decodeKey(text + '=').isErr()).toBe(true);
    expect(decodeKey(text.slice(0, 42) + '+').isErr()).toBe(true);
    // Same bytes, non-zero padding bits in the last character: not canonical.
    const last = text.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = text.slice(0, 42) + alphabet[alphabet.indexOf(last) ^ 1];
    expect(decodeKey(twin).isErr()).toBe(true);
  });
});
