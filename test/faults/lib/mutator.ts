/**
 * A seeded datagram mutator over real captures, AFL-style: pick a captured datagram (or a
 * structure-aware or random one), apply a few havoc operations (bit flips, interesting values,
 * chunk deletion, insertion, duplication, truncation, extension, splicing, header rewrites that
 * keep the version and a valid type so the codecs past the first byte get exercised).
 * Deterministic for a given seed, so a failing datagram can be regenerated from (seed, index).
 */
import fc from 'fast-check';
import { MAX_DATAGRAM, SESSION_HEADER_SIZE, Type, VERSION } from '../../../runtime/wire/constants.ts';
import { prng } from './netns.ts';

export const TYPES: readonly number[] = Object.values(Type);
const INTERESTING8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff, 16, 32, 64];
const INTERESTING16 = [0, 1, 0x7fff, 0x8000, 0xffff, 255, 256, 1200, 1201, 1170];
const INTERESTING32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 2048, 2047];

export interface MutatorOptions {
  seed: number;
  /** session ids worth aiming at (from the captures) */
  sids?: number[];
  /** share of datagrams made of fresh random bytes (default 0.15) */
  randomShare?: number;
}

export interface Mutator {
  next(): Uint8Array;
}

/** Structure-aware starting points from fast-check: right version, any type, session headers. */
export function structuredSeeds(seed: number, n: number, sids: number[] = []): Uint8Array[] {
  const sid = sids.length ? fc.oneof(fc.constantFrom(...sids), fc.integer({ min: 0, max: 0xffffffff })) : fc.integer({ min: 0, max: 0xffffffff });
  const outer = fc
    .tuple(fc.constantFrom(...TYPES), fc.uint8Array({ maxLength: 300 }))
    .map(([t, rest]) => Uint8Array.from([VERSION, t, ...rest]));
  const session = fc
    .tuple(fc.constantFrom(Type.TRUCO, Type.SEIS, Type.ROSTER_REQ, Type.ROSTER_PAGE, Type.BYE, Type.BYE_ACK, Type.KICK), sid, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.uint8Array({ minLength: 16, maxLength: 200 }))
    .map(([t, s, c, body]) => {
      const b = new Uint8Array(SESSION_HEADER_SIZE + body.length);
      const v = new DataView(b.buffer);
      b[0] = VERSION;
      b[1] = t;
      v.setUint32(2, s >>> 0);
      v.setBigUint64(6, c);
      b.set(body, SESSION_HEADER_SIZE);
      return b;
    });
  const stale = sid.map((s) => {
    const b = new Uint8Array(6);
    b[0] = VERSION;
    b[1] = Type.STALE;
    new DataView(b.buffer).setUint32(2, s >>> 0);
    return b;
  });
  const sized = fc.constantFrom(256, 64, 34, 6, 134 + 16, 30, 49).chain((len) => fc.uint8Array({ minLength: len, maxLength: len })).map((b) => {
    const c = Uint8Array.from(b);
    if (c.length > 1) {
      c[0] = VERSION;
      c[1] = TYPES[(c[1] ?? 0) % TYPES.length] ?? 1;
    }
    return c;
  });
  return fc.sample(fc.oneof(outer, session, stale, sized), { numRuns: n, seed });
}

export function createMutator(captures: Uint8Array[], opts: MutatorOptions): Mutator {
  const rand = prng(opts.seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T,>(a: readonly T[]): T => a[int(a.length)] as T;
  const pool = captures.length ? captures : [Uint8Array.of(VERSION, Type.HELLO)];
  const structured = structuredSeeds(opts.seed, 2000, opts.sids);
  const randomShare = opts.randomShare ?? 0.15;

  const havoc = (b: number[]): number[] => {
    const op = int(14);
    const at = () => int(Math.max(1, b.length));
    switch (op) {
      case 0: {
        // flip one bit
        if (b.length) {
          const i = at();
          b[i] = (b[i] ?? 0) ^ (1 << int(8));
        }
        return b;
      }
      case 1: {
        if (b.length) b[at()] = int(256);
        return b;
      }
      case 2: {
        if (b.length) b[at()] = pick(INTERESTING8);
        return b;
      }
      case 3: {
        if (b.length >= 2) {
          const i = int(b.length - 1);
          const v = pick(INTERESTING16);
          b[i] = v >> 8;
          b[i + 1] = v & 0xff;
        }
        return b;
      }
      case 4: {
        if (b.length >= 4) {
          const i = int(b.length - 3);
          const v = pick(INTERESTING32);
          b[i] = (v >>> 24) & 0xff;
          b[i + 1] = (v >>> 16) & 0xff;
          b[i + 2] = (v >>> 8) & 0xff;
          b[i + 3] = v & 0xff;
        }
        return b;
      }
      case 5:
        // truncate
        return b.slice(0, int(b.length + 1));
      case 6: {
        // extend with random bytes
        const n = 1 + int(64);
        for (let i = 0; i < n; i++) b.push(int(256));
        return b;
      }
      case 7: {
        // delete a chunk
        const i = at();
        b.splice(i, 1 + int(Math.min(32, b.length - i)));
        return b;
      }
      case 8: {
        // duplicate a chunk
        const i = at();
        const chunk = b.slice(i, i + 1 + int(32));
        b.splice(at(), 0, ...chunk);
        return b;
      }
      case 9: {
        // insert random bytes
        const n = 1 + int(16);
        b.splice(at(), 0, ...Array.from({ length: n }, () => int(256)));
        return b;
      }
      case 10: {
        // splice with another capture
        const other = pick(pool);
        const cut = int(b.length + 1);
        return [...b.slice(0, cut), ...other.subarray(int(other.length + 1))];
      }
      case 11: {
        // aim at a known session, with a counter near its window
        if (b.length >= SESSION_HEADER_SIZE && opts.sids?.length) {
          const sid = pick(opts.sids);
          b[2] = (sid >>> 24) & 0xff;
          b[3] = (sid >>> 16) & 0xff;
          b[4] = (sid >>> 8) & 0xff;
          b[5] = sid & 0xff;
          b[13] = (b[13] ?? 0) + int(8) - 4;
        }
        return b;
      }
      case 12: {
        // another valid type under the same body
        if (b.length >= 2) b[1] = pick(TYPES);
        return b;
      }
      default: {
        // xor a run of bytes
        const i = at();
        const n = 1 + int(8);
        for (let k = i; k < Math.min(b.length, i + n); k++) b[k] = (b[k] ?? 0) ^ int(256);
        return b;
      }
    }
  };

  return {
    next() {
      const r = rand();
      if (r < randomShare) {
        const len = int(MAX_DATAGRAM + 100);
        const b = new Uint8Array(len);
        for (let i = 0; i < len; i++) b[i] = int(256);
        if (len > 0 && rand() < 0.5) b[0] = VERSION;
        return b;
      }
      let b = Array.from(r < randomShare + 0.15 ? pick(structured) : pick(pool));
      const rounds = 1 + int(4);
      for (let i = 0; i < rounds; i++) b = havoc(b);
      // keep most datagrams past the version check, so the per-type codecs see them
      if (b.length && rand() < 0.8) b[0] = VERSION;
      if (b.length > MAX_DATAGRAM + 100) b.length = MAX_DATAGRAM + 100;
      return Uint8Array.from(b);
    },
  };
}

/** Length-prefixed (u16 BE) file contents for the agents. */
export function packDatagrams(list: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const d of list) {
    const h = Buffer.alloc(2);
    h.writeUInt16BE(d.length);
    parts.push(h, Buffer.from(d));
  }
  return Buffer.concat(parts);
}

export function unpackDatagrams(raw: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o + 2 <= raw.length; ) {
    const n = raw.readUInt16BE(o);
    out.push(raw.subarray(o + 2, o + 2 + n));
    o += 2 + n;
  }
  return out;
}
