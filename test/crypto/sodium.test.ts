import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as aead from '../../runtime/crypto/aead.ts';
import { AEAD_BACKEND, open, seal } from '../../runtime/crypto/sodium.ts';

describe('session AEAD backend (runtime/crypto/sodium.ts)', () => {
  it('uses libsodium here', () => {
    expect(AEAD_BACKEND).toBe('libsodium');
  });

  it('seals exactly what node:crypto seals, and each opens the other', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 1200 }),
        (key, counter, aad, body) => {
          const a = seal(key, counter, aad, body);
          const b = aead.seal(key, counter, aad, body);
          expect(Buffer.from(a).equals(b)).toBe(true);
          expect(Buffer.from(open(key, counter, aad, b) ?? []).equals(Buffer.from(body))).toBe(true);
          expect(Buffer.from(aead.open(key, counter, aad, a)._unsafeUnwrap()).equals(Buffer.from(body))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a flipped bit, a wrong counter, other associated data and a short input', () => {
    const key = randomBytes(32);
    const aad = randomBytes(14);
    const sealed = seal(key, 7, aad, Buffer.from('seis'));
    const flipped = Buffer.from(sealed);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(open(key, 7, aad, flipped)).toBeNull();
    expect(open(key, 8, aad, sealed)).toBeNull();
    expect(open(key, 7, randomBytes(14), sealed)).toBeNull();
    expect(open(key, 7, aad, sealed.subarray(0, 15))).toBeNull();
    expect(open(key.subarray(0, 31), 7, aad, sealed)).toBeNull();
  });
});
