import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reader, Writer, decodeUtf8, encodeWith, utf8Bytes, utf8Length } from '../../runtime/wire/buffer.ts';
import { isWireError, wireError } from '../../runtime/wire/errors.ts';

describe('buffer', () => {
  it('writes and reads big-endian integers and u64 up to 2^64-1', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (a, b, c, d) => {
          const w = new Writer(15, 1);
          w.u8(a).u16(b).u32(c).u64(d);
          const bytes = w.finish()._unsafeUnwrap();
          expect(bytes.length).toBe(15);
          expect(Buffer.from(bytes).readUInt16BE(1)).toBe(b);
          expect(Buffer.from(bytes).readUInt32BE(3)).toBe(c);
          expect(Buffer.from(bytes).readBigUInt64BE(7)).toBe(d);
          const r = new Reader(bytes);
          expect([r.u8(), r.u16(), r.u32(), r.u64()]).toEqual([a, b, c, d]);
          expect(r.finish(true)._unsafeUnwrap()).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the writer refuses to pass its limit and keeps the first error', () => {
    const w = new Writer(3);
    w.u16(1).u16(2).u8(300);
    expect(w.finish()._unsafeUnwrapErr()).toEqual(wireError('oversize', 'more than 3 bytes'));
    const v = new Writer(10);
    v.u8(-1).u64(-1n);
    expect(v.finish()._unsafeUnwrapErr().reason).toBe('field');
    expect(new Writer(10).u64(1n << 64n).finish()._unsafeUnwrapErr().reason).toBe('field');
  });

  it('the reader stops at the first error and returns zero values', () => {
    const r = new Reader(Uint8Array.of(1, 2, 3));
    expect(r.u16()).toBe(0x0102);
    expect(r.u32()).toBe(0);
    expect(r.u8()).toBe(0);
    expect(r.copy(1).length).toBe(0);
    expect(r.finish(null)._unsafeUnwrapErr().reason).toBe('truncated');
    const t = new Reader(Uint8Array.of(1, 2));
    t.u8();
    expect(t.finish(1)._unsafeUnwrapErr().reason).toBe('trailing');
  });

  it('a transient writer gives the same bytes as a plain one, each encoding its own (pooled) bytes, growth and errors alike', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 64 }), (parts, initial) => {
        const write = (w: Writer) => {
          for (const p of parts) w.u16(p.length).bytes(p);
        };
        const limit = 1200;
        const plain = encodeWith(limit, write, initial);
        const all = parts.map(() => encodeWith(limit, write, initial, true));
        for (const t of all) {
          expect(t.isOk()).toBe(plain.isOk());
          if (plain.isErr()) {
            expect(t._unsafeUnwrapErr()).toEqual(plain.error);
            continue;
          }
          // a plain Uint8Array of exactly the bytes, unchanged by the encodings made after it
          expect(Object.getPrototypeOf(t._unsafeUnwrap())).toBe(Uint8Array.prototype);
          expect(t._unsafeUnwrap()).toEqual(plain.value);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('copies are independent of the input, views are not', () => {
    const input = Uint8Array.of(1, 2, 3, 4);
    const r = new Reader(input);
    const c = r.copy(2);
    const v = r.view(2);
    input.fill(9);
    expect(c).toEqual(Uint8Array.of(1, 2));
    expect(v).toEqual(Uint8Array.of(9, 9));
  });

  it('str8 round-trips any well-formed string within bounds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
        const w = new Writer(1200);
        w.str8(s);
        const out = w.finish();
        if (utf8Length(s) > 255) expect(out._unsafeUnwrapErr().reason).toBe('field');
        else expect(new Reader(out._unsafeUnwrap()).str8()).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('utf8Length matches Buffer.byteLength, including lone surrogates', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }), (s) => {
        expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
      }),
      { numRuns: 3000 },
    );
  });

  it('decodes UTF-8 strictly and keeps a BOM; rejects lone surrogates on encode', () => {
    expect(decodeUtf8(Uint8Array.of(0xef, 0xbb, 0xbf))._unsafeUnwrap()).toBe('\uFEFF');
    expect(decodeUtf8(Uint8Array.of(0xc3))._unsafeUnwrapErr().reason).toBe('field');
    expect(utf8Bytes('\uDC00x')).toBeNull();
    expect(utf8Bytes('😀')).toEqual(Uint8Array.of(0xf0, 0x9f, 0x98, 0x80));
    expect(isWireError(wireError('type'))).toBe(true);
    expect(isWireError(new Error('x'))).toBe(false);
  });
});
