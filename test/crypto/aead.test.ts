import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nonceFor, open, openWithNonce, seal, sealWithNonce } from '../../runtime/crypto/aead.ts';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('aead (ChaCha20-Poly1305)', () => {
  it('reproduces the RFC 8439 §2.8.2 vector and opens it again', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('070000004041424344454647');
    const aad = hex('50515253c0c1c2c3c4c5c6c7');
    const plaintext = Buffer.from(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const expected =
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6' +
      '3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36' +
      '92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
      '3ff4def08e4b7a9de576d26586cec64b6116' +
      '1ae10b594f09e26a7e902ecbd0600691';
    const sealed = sealWithNonce(key, nonce, aad, plaintext);
    expect(sealed.toString('hex')).toBe(expected);
    expect(openWithNonce(key, nonce, aad, sealed)._unsafeUnwrap().equals(plaintext)).toBe(true);
  });

  it('builds Noise nonces: 4 zero bytes then the counter as u64 little-endian', () => {
    expect(nonceFor(0).toString('hex')).toBe('000000000000000000000000');
    expect(nonceFor(1).toString('hex')).toBe('000000000100000000000000');
    expect(nonceFor(0x1_0000_0005).toString('hex')).toBe('000000000500000001000000');
    expect(nonceFor(Number.MAX_SAFE_INTEGER).toString('hex')).toBe('00000000ffffffffffff1f00');
  });

  it('round-trips any body under any counter and associated data', () => {
    const key = Buffer.alloc(32, 7);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), fc.uint8Array({ maxLength: 64 }), fc.maxSafeNat(), (body, aad, n) => {
        const sealed = seal(key, n, aad, body);
        expect(sealed.length).toBe(body.length + 16);
        expect(Buffer.compare(open(key, n, aad, sealed)._unsafeUnwrap(), body)).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses any flipped bit in ciphertext, tag or associated data, and a wrong counter', () => {
    const key = Buffer.alloc(32, 1);
    const aad = Buffer.from('header bytes!!');
    const sealed = seal(key, 5, aad, Buffer.from('seis'));
    for (let i = 0; i < sealed.length * 8; i++) {
      const bad = Buffer.from(sealed);
      bad[i >> 3]! ^= 1 << (i & 7);
      expect(open(key, 5, aad, bad).isErr()).toBe(true);
    }
    for (let i = 0; i < aad.length; i++) {
      const badAad = Buffer.from(aad);
      badAad[i]! ^= 0x80;
      expect(open(key, 5, badAad, sealed).isErr()).toBe(true);
    }
    expect(open(key, 6, aad, sealed)._unsafeUnwrapErr()).toEqual({ type: 'DecryptFailed' });
    expect(open(Buffer.alloc(32, 2), 5, aad, sealed).isErr()).toBe(true);
  });

  it('never throws on garbage: short input, bad key or nonce sizes, bad counters', () => {
    const key = Buffer.alloc(32);
    expect(open(key, 0, Buffer.alloc(0), Buffer.alloc(15)).isErr()).toBe(true);
    expect(open(Buffer.alloc(31), 0, Buffer.alloc(0), Buffer.alloc(16)).isErr()).toBe(true);
    expect(openWithNonce(key, Buffer.alloc(11), Buffer.alloc(0), Buffer.alloc(16)).isErr()).toBe(true);
    expect(open(key, -1, Buffer.alloc(0), Buffer.alloc(16)).isErr()).toBe(true);
    expect(open(key, 2 ** 53, Buffer.alloc(0), Buffer.alloc(16)).isErr()).toBe(true);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 200 }), (k, s) => {
        expect(open(k, 0, Buffer.alloc(0), s).isErr()).toBe(true);
      }),
    );
  });
});
