import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HELLO_SIZE,
  HOLD_MAX_WAIT_MS,
  MAX_DATAGRAM,
  SESSION_TYPES,
  TOKEN_SIZE,
  Type,
} from '../../runtime/wire/constants.ts';
import {
  AUTH_RESULT_AAD,
  authAad,
  decodeOuter,
  encodeAuth,
  encodeAuthResult,
  encodeHello,
  encodeSession,
  encodeSessionHeader,
  encodeHold,
  encodeStale,
  encodeWelcome,
} from '../../runtime/wire/outer.ts';
import type { Outer } from '../../runtime/wire/types.ts';
import { u32, u64 } from './arb.ts';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const sealed = (max: number) => fc.uint8Array({ minLength: 16, maxLength: max });
const sessionCode = fc.constantFrom(...SESSION_TYPES);

/** A valid datagram of every type, with the decoded value expected back. */
interface Sample {
  wire: Uint8Array;
  decoded: Outer;
  min: number;
}
const datagram: fc.Arbitrary<Sample> = fc.oneof<fc.Arbitrary<Sample>[]>(
  bytes(48).map((noise): Sample => ({ wire: encodeHello(noise)._unsafeUnwrap(), decoded: { type: 'HELLO', noise }, min: 256 })),
  bytes(180).map((noise): Sample => ({
    wire: encodeWelcome(noise)._unsafeUnwrap(),
    decoded: { type: 'WELCOME', noise },
    min: 182,
  })),
  fc.tuple(bytes(TOKEN_SIZE), sealed(MAX_DATAGRAM - 134)).map(([token, s]): Sample => ({
    wire: encodeAuth(token, s)._unsafeUnwrap(),
    decoded: { type: 'AUTH', token, sealed: s, aad: authAad(token) },
    min: 150,
  })),
  sealed(MAX_DATAGRAM - 2).map((s): Sample => ({
    wire: encodeAuthResult(s)._unsafeUnwrap(),
    decoded: { type: 'AUTH_RESULT', sealed: s, aad: AUTH_RESULT_AAD },
    min: 18,
  })),
  fc.tuple(sessionCode, u32, u64, sealed(MAX_DATAGRAM - 14)).map(([code, sid, counter, s]): Sample => ({
    wire: encodeSession(code, sid, counter, s)._unsafeUnwrap(),
    decoded: { type: 'SESSION', code, sid, counter, sealed: s, aad: encodeSessionHeader(code, sid, counter) },
    min: 30,
  })),
  fc.tuple(u32, fc.uint8Array({ minLength: 16, maxLength: 16 })).map(([sid, token]): Sample => ({ wire: encodeStale(sid, token), decoded: { type: 'STALE', sid, token }, min: 22 })),
  fc
    .tuple(u32, fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: HOLD_MAX_WAIT_MS }))
    .map(([sid, token, waitMs]): Sample => ({ wire: encodeHold(sid, token, waitMs), decoded: { type: 'HOLD', sid, token, waitMs }, min: 24 })),
);

/** Fixed-size types: one more byte is 'trailing'. */
const FIXED = new Set([Type.HELLO, Type.WELCOME, Type.STALE, Type.HOLD]);

describe('outer datagrams', () => {
  it('round-trip every type', () => {
    fc.assert(
      fc.property(datagram, ({ wire, decoded }) => {
        expect(wire.length).toBeLessThanOrEqual(MAX_DATAGRAM);
        expect(decodeOuter(wire)._unsafeUnwrap()).toEqual(decoded);
      }),
      { numRuns: 3000 },
    );
  });

  it('have the sizes of the spec', () => {
    expect(encodeHello(new Uint8Array(48))._unsafeUnwrap().length).toBe(HELLO_SIZE);
    expect(encodeWelcome(new Uint8Array(180))._unsafeUnwrap().length).toBe(182);
    expect(encodeAuth(new Uint8Array(132), new Uint8Array(16))._unsafeUnwrap().length).toBe(150);
    expect(authAad(new Uint8Array(132)).length).toBe(134);
    expect(Array.from(AUTH_RESULT_AAD)).toEqual([1, 4]);
    expect(encodeStale(7, new Uint8Array(16).fill(9))).toEqual(Uint8Array.of(1, 0x17, 0, 0, 0, 7, ...new Array<number>(16).fill(9)));
    expect(encodeHold(7, new Uint8Array(16).fill(9), 0x1234)).toEqual(Uint8Array.of(1, 0x18, 0, 0, 0, 7, ...new Array<number>(16).fill(9), 0x12, 0x34));
    expect(encodeSessionHeader(Type.TRUCO, 0x01020304, (1n << 64n) - 1n)).toEqual(
      Uint8Array.of(1, 0x10, 1, 2, 3, 4, 255, 255, 255, 255, 255, 255, 255, 255),
    );
    const hello = encodeHello(new Uint8Array(48).fill(9))._unsafeUnwrap();
    expect(hello.subarray(0, 2)).toEqual(Uint8Array.of(1, 1));
    expect(hello.subarray(50).every((b) => b === 0)).toBe(true);
  });

  it('AUTH associated data is the first 134 bytes, session the first 14, AUTH_RESULT the header', () => {
    fc.assert(
      fc.property(datagram, ({ wire }) => {
        const d = decodeOuter(wire)._unsafeUnwrap();
        if (d.type === 'AUTH') expect(d.aad).toEqual(wire.subarray(0, 134));
        if (d.type === 'SESSION') expect(d.aad).toEqual(wire.subarray(0, 14));
        if (d.type === 'AUTH_RESULT') expect(d.aad).toEqual(wire.subarray(0, 2));
        expect(d.type).toBeTruthy();
      }),
      { numRuns: 500 },
    );
  });

  it('accept any HELLO padding but require exactly 256 bytes', () => {
    const hello = encodeHello(new Uint8Array(48).fill(3))._unsafeUnwrap();
    hello[200] = 0xaa;
    expect(decodeOuter(hello)._unsafeUnwrap()).toEqual({ type: 'HELLO', noise: new Uint8Array(48).fill(3) });
    expect(decodeOuter(hello.subarray(0, 255))._unsafeUnwrapErr().reason).toBe('truncated');
    expect(decodeOuter(Uint8Array.of(...hello, 0))._unsafeUnwrapErr().reason).toBe('trailing');
  });

  it('reject every truncation below the minimum length', () => {
    fc.assert(
      fc.property(datagram, ({ wire, min }) => {
        for (let n = 0; n < wire.length; n++) {
          const r = decodeOuter(wire.subarray(0, n));
          if (n < min) expect(r._unsafeUnwrapErr().reason).toBe('truncated');
          // Above the minimum only the sealed part is shorter: the AEAD rejects it, not the codec.
          else expect(r._unsafeUnwrap().type).toMatch(/^(AUTH|AUTH_RESULT|SESSION)$/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reject trailing bytes on fixed-size types', () => {
    fc.assert(
      fc.property(datagram, fc.uint8Array({ minLength: 1, maxLength: 20 }), ({ wire }, extra) => {
        const longer = Uint8Array.of(...wire, ...extra);
        const r = decodeOuter(longer);
        if (longer.length > MAX_DATAGRAM) expect(r._unsafeUnwrapErr().reason).toBe('oversize');
        else if (FIXED.has(wire[1] as 1)) expect(r._unsafeUnwrapErr().reason).toBe('trailing');
        else expect(r.isOk()).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('reject another version, an unknown type and more than 1200 bytes', () => {
    fc.assert(
      fc.property(datagram, fc.integer({ min: 0, max: 255 }).filter((v) => v !== 1), ({ wire }, version) => {
        const other = Uint8Array.from(wire);
        other[0] = version;
        expect(decodeOuter(other)._unsafeUnwrapErr().reason).toBe('version');
      }),
      { numRuns: 500 },
    );
    const known = new Set<number>(Object.values(Type));
    for (let t = 0; t < 256; t++) {
      if (known.has(t)) continue;
      const d = new Uint8Array(300);
      d[0] = 1;
      d[1] = t;
      expect(decodeOuter(d)._unsafeUnwrapErr().reason).toBe('type');
    }
    expect(decodeOuter(Uint8Array.of(2, 1))._unsafeUnwrapErr().reason).toBe('version');
    expect(decodeOuter(new Uint8Array(0))._unsafeUnwrapErr().reason).toBe('truncated');
    expect(decodeOuter(Uint8Array.of(1))._unsafeUnwrapErr().reason).toBe('truncated');
    for (const t of [0x03, 0x04, 0x10, 0x16]) {
      const big = new Uint8Array(MAX_DATAGRAM + 1);
      big[0] = 1;
      big[1] = t;
      expect(decodeOuter(big)._unsafeUnwrapErr().reason).toBe('oversize');
      expect(decodeOuter(big.subarray(0, MAX_DATAGRAM)).isOk()).toBe(true);
    }
  });

  it('encoders enforce sizes and the 1200-byte bound', () => {
    expect(encodeHello(new Uint8Array(47))._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeWelcome(new Uint8Array(181))._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAuth(new Uint8Array(131), new Uint8Array(16))._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAuth(new Uint8Array(132), new Uint8Array(15))._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAuth(new Uint8Array(132), new Uint8Array(1066)).isOk()).toBe(true);
    expect(encodeAuth(new Uint8Array(132), new Uint8Array(1067))._unsafeUnwrapErr().reason).toBe('oversize');
    expect(encodeAuthResult(new Uint8Array(1198)).isOk()).toBe(true);
    expect(encodeAuthResult(new Uint8Array(1199))._unsafeUnwrapErr().reason).toBe('oversize');
    expect(encodeAuthResult(new Uint8Array(15))._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeSession(Type.SEIS, 1, 1n, new Uint8Array(1186)).isOk()).toBe(true);
    expect(encodeSession(Type.SEIS, 1, 1n, new Uint8Array(1187))._unsafeUnwrapErr().reason).toBe('oversize');
    expect(encodeSession(Type.HELLO, 1, 1n, new Uint8Array(16))._unsafeUnwrapErr().reason).toBe('type');
    expect(encodeSession(Type.SEIS, -1, 1n, new Uint8Array(16))._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeSession(Type.SEIS, 1, 1n << 64n, new Uint8Array(16))._unsafeUnwrapErr().reason).toBe('field');
  });

  it('never throw on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1400 }), (b) => {
        const r = decodeOuter(b);
        expect(r.isOk() || r.isErr()).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('never throw on arbitrary bytes behind a valid header, and decode them consistently', () => {
    const types = fc.constantFrom(...Object.values(Type));
    fc.assert(
      fc.property(types, fc.uint8Array({ minLength: 0, maxLength: 1400 }), (t, rest) => {
        const b = Uint8Array.of(1, t, ...rest);
        const r = decodeOuter(b);
        if (b.length > MAX_DATAGRAM) expect(r._unsafeUnwrapErr().reason).toBe('oversize');
        else if (r.isOk()) expect(r.value.type).toBeTruthy();
        // a HOLD of the right size may ask for too long a wait
        else expect(t === Type.HOLD ? ['truncated', 'trailing', 'field'] : ['truncated', 'trailing']).toContain(r.error.reason);
      }),
      { numRuns: 20_000 },
    );
  });

  it('refuse a HOLD that asks for a wait over 30 s (the encoder clamps it)', () => {
    const token = new Uint8Array(16).fill(3);
    const ok = encodeHold(1, token, HOLD_MAX_WAIT_MS);
    expect(decodeOuter(ok)._unsafeUnwrap()).toMatchObject({ type: 'HOLD', waitMs: HOLD_MAX_WAIT_MS });
    expect(decodeOuter(encodeHold(1, token, 99_999))._unsafeUnwrap()).toMatchObject({ waitMs: HOLD_MAX_WAIT_MS });
    const over = Uint8Array.from(ok);
    new DataView(over.buffer).setUint16(22, HOLD_MAX_WAIT_MS + 1);
    expect(decodeOuter(over)._unsafeUnwrapErr()).toMatchObject({ reason: 'field' });
  });

  it('never throw on mutated valid datagrams', () => {
    fc.assert(
      fc.property(datagram, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), ({ wire }, flips) => {
        const m = Uint8Array.from(wire);
        for (const [at, v] of flips) m[at % m.length] = v;
        const r = decodeOuter(m);
        expect(r.isOk() || r.isErr()).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});
