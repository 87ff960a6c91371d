import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SESSION_BODY, SESSION_TYPES, Type } from '../../runtime/wire/constants.ts';
import { bodyCode, decodeBody, encodeBody } from '../../runtime/wire/body.ts';
import { decodeAuthRequest, encodeAuthRequest } from '../../runtime/wire/auth-request.ts';
import { decodeAuthResultBody, encodeAuthResultBody } from '../../runtime/wire/auth-result-body.ts';
import { decodeDelta, decodeMember, encodeDelta, encodeMember } from '../../runtime/wire/member.ts';
import { decodeKick, encodeKick } from '../../runtime/wire/kick.ts';
import { decodeRosterReq } from '../../runtime/wire/roster.ts';
import { decodeTruco, encodeTruco } from '../../runtime/wire/truco.ts';
import { decodeSeis, encodeSeis } from '../../runtime/wire/seis.ts';
import { MAX_AUTH_REQUEST } from '../../runtime/wire/auth.ts';
import { MAX_AUTH_RESULT } from '../../runtime/wire/auth-result.ts';
import type { WireError } from '../../runtime/wire/errors.ts';
import type { Result } from 'neverthrow';
import { authRequest, authResult, delta, member, sessionBody } from './arb.ts';

interface Case {
  value: unknown;
  bytes: Uint8Array;
  decode: (b: Uint8Array) => Result<unknown, WireError>;
  /** the decoder's size bound */
  max: number;
}

function cases<T>(
  arb: fc.Arbitrary<T>,
  encode: (v: T) => Result<Uint8Array, WireError>,
  decode: (b: Uint8Array) => Result<unknown, WireError>,
  max: number,
): fc.Arbitrary<Case> {
  return arb.map((value) => ({ value, bytes: encode(value)._unsafeUnwrap(), decode, max }));
}

/** Session bodies are decoded by code; pair each encoding with its decoder. */
const sessionCase: fc.Arbitrary<Case> = sessionBody.map((value) => {
  const { code, bytes } = encodeBody(value)._unsafeUnwrap();
  return { value, bytes, decode: (x: Uint8Array) => decodeBody(code, x), max: MAX_SESSION_BODY };
});
const otherCases = [
  cases(authRequest, encodeAuthRequest, decodeAuthRequest, MAX_AUTH_REQUEST),
  cases(authResult, encodeAuthResultBody, decodeAuthResultBody, MAX_AUTH_RESULT),
  cases(member, encodeMember, decodeMember, MAX_SESSION_BODY),
  cases(delta, encodeDelta, decodeDelta, MAX_SESSION_BODY),
];
const anyCase = fc.oneof(sessionCase, ...otherCases);

describe('plaintext bodies', () => {
  it('round-trip every session body', () => {
    fc.assert(
      fc.property(sessionBody, (b) => {
        const { code, bytes } = encodeBody(b)._unsafeUnwrap();
        expect(code).toBe(bodyCode(b));
        expect(bytes.length).toBeLessThanOrEqual(MAX_SESSION_BODY);
        expect(decodeBody(code, bytes)._unsafeUnwrap()).toEqual(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('round-trip AUTH requests, AUTH results, entries and deltas', () => {
    fc.assert(
      fc.property(fc.oneof(...otherCases), ({ value, bytes, decode }) => {
        expect(decode(bytes)._unsafeUnwrap()).toEqual(value);
      }),
      { numRuns: 3000 },
    );
  });

  it('reject every truncation as truncated', () => {
    fc.assert(
      fc.property(anyCase, ({ bytes, decode }) => {
        for (let n = 0; n < bytes.length; n++) {
          expect(decode(bytes.subarray(0, n))._unsafeUnwrapErr().reason).toBe('truncated');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reject trailing bytes', () => {
    fc.assert(
      fc.property(anyCase, fc.uint8Array({ minLength: 1, maxLength: 8 }), ({ bytes, decode, max }, extra) => {
        const longer = Uint8Array.of(...bytes, ...extra);
        expect(decode(longer)._unsafeUnwrapErr().reason).toBe(longer.length > max ? 'oversize' : 'trailing');
      }),
      { numRuns: 2000 },
    );
    expect(decodeBody(Type.BYE, Uint8Array.of(0))._unsafeUnwrapErr().reason).toBe('trailing');
    expect(decodeBody(Type.SEIS, new Uint8Array(13))._unsafeUnwrapErr().reason).toBe('trailing');
  });

  it('never throw on arbitrary bytes for any code', () => {
    const codes = fc.constantFrom(...SESSION_TYPES, 0, 1, 0x17, 0xff);
    fc.assert(
      fc.property(codes, fc.uint8Array({ minLength: 0, maxLength: 1400 }), (code, b) => {
        const r = decodeBody(code, b);
        if (!SESSION_TYPES.has(code)) expect(r._unsafeUnwrapErr().reason).toBe('type');
        else if (b.length > MAX_SESSION_BODY) expect(r._unsafeUnwrapErr().reason).toBe('oversize');
        else if (r.isOk()) expect(encodeBody(r.value)._unsafeUnwrap().bytes).toEqual(b);
        else expect(r.error.type).toBe('WireError');
      }),
      { numRuns: 20_000 },
    );
  });

  for (const code of SESSION_TYPES) {
    it(`never throws on arbitrary bytes for code 0x${code.toString(16)}`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 0, maxLength: 1400 }), (b) => {
          const r = decodeBody(code, b);
          expect(r.isOk() || r.isErr()).toBe(true);
        }),
        { numRuns: 20_000 },
      );
    });
  }

  it('never throw on arbitrary AUTH request / result plaintexts', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1400 }), (b) => {
        const a = decodeAuthRequest(b);
        const s = decodeAuthResultBody(b);
        if (a.isOk()) expect(encodeAuthRequest(a.value)._unsafeUnwrap()).toEqual(b);
        if (s.isOk()) expect(encodeAuthResultBody(s.value)._unsafeUnwrap()).toEqual(b);
        expect(a.isOk() || a.isErr()).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('decode mutated encodings without throwing, and re-encode what they accept to the same bytes', () => {
    fc.assert(
      fc.property(anyCase, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), ({ bytes, decode }, flips) => {
        if (bytes.length === 0) return;
        const m = Uint8Array.from(bytes);
        for (const [at, v] of flips) m[at % m.length] = v;
        const r = decode(m);
        expect(r.isOk() || r.isErr()).toBe(true);
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(sessionCase, fc.nat(), fc.integer({ min: 0, max: 255 }), ({ bytes }, at, v) => {
        if (bytes.length === 0) return;
        for (const code of SESSION_TYPES) {
          const m = Uint8Array.from(bytes);
          m[at % m.length] = v;
          const r = decodeBody(code, m);
          if (r.isOk()) expect(encodeBody(r.value)._unsafeUnwrap()).toEqual({ code, bytes: m });
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('exact layouts', () => {
    expect(encodeSeis({ type: 'SEIS', probe: 1, epoch: 2, version: 3 })._unsafeUnwrap()).toEqual(
      Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3),
    );
    expect(encodeKick({ type: 'KICK', reason: 'ticket_revoked' })._unsafeUnwrap()).toEqual(Uint8Array.of(4));
    expect(decodeKick(Uint8Array.of(1))._unsafeUnwrap()).toEqual({ type: 'KICK', reason: 'elsewhere' });
    expect(decodeKick(Uint8Array.of(0))._unsafeUnwrapErr().reason).toBe('field');
    expect(decodeKick(Uint8Array.of(5))._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeBody({ type: 'BYE' })._unsafeUnwrap()).toEqual({ code: Type.BYE, bytes: new Uint8Array(0) });
    expect(encodeBody({ type: 'BYE_ACK' })._unsafeUnwrap()).toEqual({ code: Type.BYE_ACK, bytes: new Uint8Array(0) });
    expect(decodeBody(Type.BYE_ACK, new Uint8Array(0))._unsafeUnwrap()).toEqual({ type: 'BYE_ACK' });
    expect(decodeSeis(new Uint8Array(11))._unsafeUnwrapErr().reason).toBe('truncated');
    expect(encodeAuthResultBody({ status: 'rate_limited', retryAfterS: 300 })._unsafeUnwrap()).toEqual(Uint8Array.of(7, 1, 44));
    expect(encodeAuthResultBody({ status: 'weak_password', minLength: 8 })._unsafeUnwrap()).toEqual(Uint8Array.of(4, 8));
    expect(decodeAuthResultBody(Uint8Array.of(10))._unsafeUnwrapErr().reason).toBe('field');
    expect(decodeAuthRequest(Uint8Array.of(0, 0, 0))._unsafeUnwrapErr().reason).toBe('field');
    expect(decodeAuthRequest(Uint8Array.of(4, 0, 0))._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAuthRequest({ kind: 'signup', email: 'a@b', password: 'pw' })._unsafeUnwrap()).toEqual(
      Uint8Array.of(1, 3, 0x61, 0x40, 0x62, 2, 0x70, 0x77),
    );
  });

  it('a TRUCO with no deltas is 19 bytes (49 on the wire)', () => {
    const t = encodeTruco({ type: 'TRUCO', probe: 1, epoch: 2, version: 3, base: 3, resync: true, deltas: [] })._unsafeUnwrap();
    expect(t.length).toBe(19);
    expect(t.length + 30).toBe(49);
    expect(t[16]).toBe(1);
    expect(decodeTruco(t)._unsafeUnwrap().resync).toBe(true);
    const flags = Uint8Array.from(t);
    flags[16] = 2;
    expect(decodeTruco(flags)._unsafeUnwrapErr().reason).toBe('field');
  });
});

describe('strings and bounds', () => {
  const leave = (emailBytes: number[]) => Uint8Array.of(2, emailBytes.length, ...emailBytes);

  it('reject invalid UTF-8 in every str8', () => {
    for (const bad of [[0xff], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      expect(decodeDelta(leave(bad))._unsafeUnwrapErr()).toMatchObject({ reason: 'field' });
      expect(decodeRosterReq(Uint8Array.of(0, 1, bad.length, ...bad))._unsafeUnwrapErr().reason).toBe('field');
      expect(decodeAuthRequest(Uint8Array.of(1, 1, 0x61, bad.length, ...bad))._unsafeUnwrapErr().reason).toBe('field');
    }
  });

  it('keeps a leading byte-order mark', () => {
    const d = decodeDelta(Uint8Array.of(2, 4, 0xef, 0xbb, 0xbf, 0x61))._unsafeUnwrap();
    expect(d).toEqual({ kind: 'leave', email: '\uFEFFa' });
  });

  it('bound emails to 254 bytes and passwords to 1..255', () => {
    expect(decodeDelta(leave(new Array(254).fill(0x61))).isOk()).toBe(true);
    expect(decodeDelta(leave(new Array(255).fill(0x61)))._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeDelta({ kind: 'leave', email: 'a'.repeat(254) }).isOk()).toBe(true);
    expect(encodeDelta({ kind: 'leave', email: 'a'.repeat(255) })._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeDelta({ kind: 'leave', email: 'é'.repeat(128) })._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAuthRequest({ kind: 'signup', email: 'a', password: '' })._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAuthRequest({ kind: 'signup', email: 'a', password: 'p'.repeat(256) })._unsafeUnwrapErr().reason).toBe('field');
    expect(decodeAuthRequest(Uint8Array.of(1, 1, 0x61, 0))._unsafeUnwrapErr().reason).toBe('field');
  });

  it('reject lone surrogates and wrong key / ticket sizes on encode', () => {
    expect(encodeDelta({ kind: 'leave', email: 'a\uD800' })._unsafeUnwrapErr().reason).toBe('field');
    const m = { email: 'a', address: { family: 4 as const, host: '1.2.3.4', port: 1 }, peerKey: new Uint8Array(31) };
    expect(encodeMember(m)._unsafeUnwrapErr().reason).toBe('field');
    expect(
      encodeAuthRequest({ kind: 'resume', email: 'a', ticket: new Uint8Array(47), peerKey: new Uint8Array(32), epoch: 1, version: 2 })._unsafeUnwrapErr()
        .reason,
    ).toBe('field');
    expect(encodeSeis({ type: 'SEIS', probe: 2 ** 32, epoch: 0, version: 0 })._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeSeis({ type: 'SEIS', probe: 1.5, epoch: 0, version: 0 })._unsafeUnwrapErr().reason).toBe('field');
  });

  it('reject bodies over 1170 bytes', () => {
    expect(decodeBody(Type.BYE, new Uint8Array(1171))._unsafeUnwrapErr().reason).toBe('oversize');
    const big = Array.from({ length: 5 }, (_, i) => ({
      kind: 'join' as const,
      member: {
        email: `${i}`.padEnd(254, 'x'),
        address: { family: 6 as const, host: 'fe80::1', port: 1 },
        peerKey: new Uint8Array(32),
      },
    }));
    const r = encodeBody({ type: 'TRUCO', probe: 0, epoch: 0, version: 0, base: 0, resync: false, deltas: big });
    expect(r._unsafeUnwrapErr().reason).toBe('oversize');
    expect(
      encodeBody({ type: 'TRUCO', probe: 0, epoch: 0, version: 0, base: 0, resync: false, deltas: big.slice(0, 3) }).isOk(),
    ).toBe(true);
  });
});
