import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MIN_PASSWORD_LENGTH,
  checkPassword,
  describeEmailRule,
  describePasswordRule,
  explainInvalidEmail,
  explainWeakPassword,
  normalizeEmail,
} from '../../runtime/validate.ts';
import { MAX_EMAIL_BYTES, MAX_PASSWORD_BYTES } from '../../runtime/wire/constants.ts';

const why = (raw: string): string | undefined => normalizeEmail(raw).match(() => undefined, (e) => e.why);

describe('normalizeEmail', () => {
  it('trims, lower-cases and NFC-normalizes', () => {
    expect(normalizeEmail('  Ana@Example.ORG \n')._unsafeUnwrap()).toBe('ana@example.org');
    // "é" as e + combining acute becomes the single code point U+00E9
    expect(normalizeEmail('Jose\u0301@x.io')._unsafeUnwrap()).toBe('jos\u00e9@x.io');
    expect(normalizeEmail('root@localhost')._unsafeUnwrap()).toBe('root@localhost');
  });

  it('accepts ordinary addresses', () => {
    for (const ok of ['a@x.io', 'first.last+tag@mail.example.co.uk', 'x_y@a-b.c0m', '1@2.3']) {
      expect(normalizeEmail(ok).isOk(), ok).toBe(true);
    }
  });

  it('says why an address is refused', () => {
    expect(why('')).toBe('empty');
    expect(why('   ')).toBe('empty');
    expect(why('ana.example.org')).toBe('at_sign');
    expect(why('a@b@c.io')).toBe('at_sign');
    expect(why('@x.io')).toBe('local_part');
    expect(why('a@')).toBe('domain');
    expect(why('a@example')).toBe('domain');
    expect(why('a@-x.io')).toBe('domain');
    expect(why('a@x-.io')).toBe('domain');
    expect(why('a@x..io')).toBe('domain');
    expect(why('a@x.io.')).toBe('domain');
    expect(why('a@x_y.io')).toBe('domain');
    expect(why('a b@x.io')).toBe('bad_chars');
    expect(why('a\u0000b@x.io')).toBe('bad_chars');
    expect(why('a\u202eb@x.io')).toBe('bad_chars');
    expect(why('a\u200bb@x.io')).toBe('bad_chars');
    expect(why('a\uD800@x.io')).toBe('bad_chars');
  });

  it('bounds the local part and the total in UTF-8 bytes', () => {
    expect(normalizeEmail(`${'a'.repeat(64)}@x.io`).isOk()).toBe(true);
    expect(why(`${'a'.repeat(65)}@x.io`)).toBe('local_part');
    // 32 two-byte characters = 64 bytes is fine, 33 is not
    expect(normalizeEmail(`${'é'.repeat(32)}@x.io`).isOk()).toBe(true);
    expect(why(`${'é'.repeat(33)}@x.io`)).toBe('local_part');
    const domain = `${'d'.repeat(60)}.${'d'.repeat(60)}.${'d'.repeat(60)}.${'d'.repeat(49)}`; // 232 bytes
    const fits = `${'a'.repeat(MAX_EMAIL_BYTES - 1 - domain.length)}@${domain}`;
    expect(Buffer.byteLength(fits)).toBe(MAX_EMAIL_BYTES);
    expect(normalizeEmail(fits).isOk()).toBe(true);
    expect(why(`b${fits}`)).toBe('too_long');
    expect(why(`a@${'d'.repeat(64)}.io`)).toBe('domain');
  });

  it('never throws, is idempotent, and its output fits the wire', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (raw) => {
        const r = normalizeEmail(raw);
        if (r.isOk()) {
          expect(normalizeEmail(r.value)._unsafeUnwrap()).toBe(r.value);
          expect(Buffer.byteLength(r.value)).toBeLessThanOrEqual(MAX_EMAIL_BYTES);
          expect(r.value.split('@')).toHaveLength(2);
        } else {
          expect(r.error.type).toBe('InvalidEmail');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('is case-insensitive: two spellings give one account name', () => {
    expect(normalizeEmail('A@X.io')._unsafeUnwrap()).toBe(normalizeEmail('a@x.IO')._unsafeUnwrap());
  });
});

describe('checkPassword', () => {
  it('accepts 8 characters and counts code points, not UTF-16 units', () => {
    expect(checkPassword('12345678')._unsafeUnwrap()).toBe('12345678');
    expect(checkPassword('🔑🔑🔑🔑🔑🔑🔑🔑').isOk()).toBe(true);
    const seven = checkPassword('🔑🔑🔑🔑🔑🔑🔑'); // 14 UTF-16 units, 7 characters
    expect(seven._unsafeUnwrapErr()).toEqual({
      type: 'WeakPassword',
      minLength: MIN_PASSWORD_LENGTH,
      maxBytes: MAX_PASSWORD_BYTES,
      why: 'too_short',
    });
  });

  it('refuses short, long and control-character passwords', () => {
    expect(checkPassword('')._unsafeUnwrapErr().why).toBe('too_short');
    expect(checkPassword('1234567')._unsafeUnwrapErr().why).toBe('too_short');
    expect(checkPassword('a'.repeat(MAX_PASSWORD_BYTES)).isOk()).toBe(true);
    expect(checkPassword('a'.repeat(MAX_PASSWORD_BYTES + 1))._unsafeUnwrapErr().why).toBe('too_long');
    expect(checkPassword('é'.repeat(128))._unsafeUnwrapErr().why).toBe('too_long'); // 256 bytes
    expect(checkPassword('password\n')._unsafeUnwrapErr().why).toBe('control_chars');
    expect(checkPassword('pass\u0000word')._unsafeUnwrapErr().why).toBe('control_chars');
    expect(checkPassword('pass\uD800word')._unsafeUnwrapErr().why).toBe('control_chars');
  });

  it('keeps spaces and returns the NFC form', () => {
    expect(checkPassword('correct horse battery')._unsafeUnwrap()).toBe('correct horse battery');
    expect(checkPassword('cafe\u0301-cafe\u0301')._unsafeUnwrap()).toBe('caf\u00e9-caf\u00e9');
  });

  it('never throws on any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (pw) => {
        const r = checkPassword(pw);
        expect(r.isOk() || r.error.type === 'WeakPassword').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('rule texts', () => {
  it('are single English sentences naming the limits', () => {
    expect(describeEmailRule()).toMatch(/^An email address .*\.$/);
    expect(describeEmailRule()).toContain(String(MAX_EMAIL_BYTES));
    expect(describePasswordRule()).toMatch(/^A password .*\.$/);
    expect(describePasswordRule()).toContain(String(MIN_PASSWORD_LENGTH));
    expect(explainInvalidEmail({ type: 'InvalidEmail', why: 'at_sign' })).toContain('@');
    expect(explainWeakPassword(checkPassword('short')._unsafeUnwrapErr())).toContain('at least 8');
  });
});
