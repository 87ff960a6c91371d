/**
 * Cursor-based reader and bounded writer shared by every codec.
 *
 * Neither ever throws. The first problem is recorded in `error`; after that,
 * reads return zero values without moving and writes are ignored, so a codec
 * can run straight through and check once at the end (`finish`).
 */

import { err, ok, type Result } from 'neverthrow';
import { wireError, type WireError, type WireErrorReason } from './errors.ts';

const U64_LIMIT = 1n << 64n;
const utf8Encoder = new TextEncoder();
/** fatal: invalid UTF-8 is an error; ignoreBOM: a leading U+FEFF is kept, so strings round-trip. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** With the `u` flag a lone surrogate is its own code point of category Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

/** UTF-8 bytes of a well-formed string; `null` if it holds a lone surrogate. */
export function utf8Bytes(text: string): Uint8Array | null {
  if (LONE_SURROGATE.test(text)) return null;
  return utf8Encoder.encode(text);
}

/** Byte length of the UTF-8 encoding (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Strict UTF-8 decoding as a Result. */
export function decodeUtf8(bytes: Uint8Array): Result<string, WireError> {
  try {
    return ok(utf8Decoder.decode(bytes));
  } catch {
    return err(wireError('field', 'invalid UTF-8'));
  }
}

/** Bounds of a `str8` field. */
export interface StrBounds {
  min?: number;
  max?: number;
  what?: string;
}

export class Reader {
  readonly bytes: Uint8Array;
  offset: number;
  readonly end: number;
  error: WireError | null = null;

  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** Records the first error only; later ones are consequences. */
  fail(reason: WireErrorReason, detail?: string): void {
    if (this.error === null) this.error = wireError(reason, detail);
  }

  private take(n: number, what: string): number {
    if (this.error !== null) return -1;
    if (n > this.remaining) {
      this.fail('truncated', what);
      return -1;
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(what = 'u8'): number {
    const at = this.take(1, what);
    return at < 0 ? 0 : (this.bytes[at] ?? 0);
  }

  u16(what = 'u16'): number {
    const at = this.take(2, what);
    if (at < 0) return 0;
    const b = this.bytes;
    return ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
  }

  u32(what = 'u32'): number {
    const at = this.take(4, what);
    if (at < 0) return 0;
    const b = this.bytes;
    return (((b[at] ?? 0) << 24) | ((b[at + 1] ?? 0) << 16) | ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0)) >>> 0;
  }

  u64(what = 'u64'): bigint {
    const hi = this.u32(what);
    const lo = this.u32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** `n` bytes as a fresh copy (safe to keep after the input is reused). */
  copy(n: number, what = 'bytes'): Uint8Array {
    const at = this.take(n, what);
    return at < 0 ? new Uint8Array(0) : new Uint8Array(this.bytes.subarray(at, at + n));
  }

  /** `n` bytes as a view into the input (no copy). */
  view(n: number, what = 'bytes'): Uint8Array {
    const at = this.take(n, what);
    return at < 0 ? new Uint8Array(0) : this.bytes.subarray(at, at + n);
  }

  /** Everything left, as a view. */
  rest(): Uint8Array {
    return this.view(Math.max(0, this.remaining));
  }

  /** `len u8 | UTF-8 bytes`, strictly decoded and bounded. */
  str8(bounds: StrBounds = {}): string {
    const what = bounds.what ?? 'str8';
    const len = this.u8(what);
    const raw = this.view(len, what);
    if (this.error !== null) return '';
    if (len < (bounds.min ?? 0) || len > (bounds.max ?? 255)) {
      this.fail('field', `${what} length ${len}`);
      return '';
    }
    const text = decodeUtf8(raw);
    if (text.isErr()) {
      this.fail('field', `${what}: invalid UTF-8`);
      return '';
    }
    return text.value;
  }

  /** The decoded value if no error occurred and every byte was consumed. */
  finish<T>(value: T): Result<T, WireError> {
    if (this.error !== null) return err(this.error);
    if (this.offset !== this.end) return err(wireError('trailing', `${this.end - this.offset} extra bytes`));
    return ok(value);
  }
}

export class Writer {
  private buf: Uint8Array;
  private len = 0;
  readonly limit: number;
  error: WireError | null = null;

  /**
   * `limit` is the largest encoding allowed; going past it is an 'oversize' error. `transient`:
   * the bytes are copied (sealed) and dropped at once, so they may live in node's shared Buffer
   * pool: no allocation of their own (a fresh Uint8Array above 64 bytes is a new off-heap backing
   * store each time). Not for bytes anything keeps: they would keep the pool's 8 KiB slab alive.
   */
  constructor(limit: number, initial = 64, transient = false) {
    this.limit = limit;
    const size = Math.max(0, Math.min(limit, initial));
    this.buf = transient ? Buffer.allocUnsafe(size) : new Uint8Array(size);
  }

  get length(): number {
    return this.len;
  }

  fail(reason: WireErrorReason, detail?: string): void {
    if (this.error === null) this.error = wireError(reason, detail);
  }

  /** Reserves `n` bytes and returns where they start, or -1. */
  private reserve(n: number): number {
    if (this.error !== null) return -1;
    if (this.len + n > this.limit) {
      this.fail('oversize', `more than ${this.limit} bytes`);
      return -1;
    }
    if (this.len + n > this.buf.length) {
      const grown = new Uint8Array(Math.min(this.limit, Math.max(this.buf.length * 2, this.len + n)));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    const at = this.len;
    this.len += n;
    return at;
  }

  private int(value: number, max: number, what: string): boolean {
    if (this.error !== null) return false;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      this.fail('field', `${what} out of range: ${String(value)}`);
      return false;
    }
    return true;
  }

  u8(value: number, what = 'u8'): this {
    if (!this.int(value, 0xff, what)) return this;
    const at = this.reserve(1);
    if (at >= 0) this.buf[at] = value;
    return this;
  }

  u16(value: number, what = 'u16'): this {
    if (!this.int(value, 0xffff, what)) return this;
    const at = this.reserve(2);
    if (at >= 0) {
      this.buf[at] = value >>> 8;
      this.buf[at + 1] = value & 0xff;
    }
    return this;
  }

  u32(value: number, what = 'u32'): this {
    if (!this.int(value, 0xffffffff, what)) return this;
    const at = this.reserve(4);
    if (at >= 0) {
      this.buf[at] = value >>> 24;
      this.buf[at + 1] = (value >>> 16) & 0xff;
      this.buf[at + 2] = (value >>> 8) & 0xff;
      this.buf[at + 3] = value & 0xff;
    }
    return this;
  }

  u64(value: bigint, what = 'u64'): this {
    if (this.error !== null) return this;
    if (typeof value !== 'bigint' || value < 0n || value >= U64_LIMIT) {
      this.fail('field', `${what} out of range`);
      return this;
    }
    this.u32(Number(value >> 32n), what);
    this.u32(Number(value & 0xffffffffn), what);
    return this;
  }

  /** Raw bytes; with `size`, the length must match exactly. */
  bytes(value: Uint8Array, size?: number, what = 'bytes'): this {
    if (this.error !== null) return this;
    if (!(value instanceof Uint8Array)) {
      this.fail('field', `${what} is not bytes`);
      return this;
    }
    if (size !== undefined && value.length !== size) {
      this.fail('field', `${what} must be ${size} bytes, got ${value.length}`);
      return this;
    }
    const at = this.reserve(value.length);
    if (at >= 0) this.buf.set(value, at);
    return this;
  }

  /** `n` zero bytes. */
  zeros(n: number): this {
    const at = this.reserve(n);
    if (at >= 0) this.buf.fill(0, at, at + n);
    return this;
  }

  /** `len u8 | UTF-8 bytes`; a lone surrogate or a length out of bounds is a 'field' error. */
  str8(value: string, bounds: StrBounds = {}): this {
    if (this.error !== null) return this;
    const what = bounds.what ?? 'str8';
    const raw = typeof value === 'string' ? utf8Bytes(value) : null;
    if (raw === null) {
      this.fail('field', `${what} is not a well-formed string`);
      return this;
    }
    if (raw.length < (bounds.min ?? 0) || raw.length > (bounds.max ?? 255)) {
      this.fail('field', `${what} length ${raw.length}`);
      return this;
    }
    this.u8(raw.length, what);
    return this.bytes(raw);
  }

  /** The exact bytes written, or the first error. */
  finish(): Result<Uint8Array, WireError> {
    if (this.error !== null) return err(this.error);
    // a pooled buffer is handed out as a plain Uint8Array view of the bytes written
    if (this.buf instanceof Buffer) return ok(new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.len));
    return ok(this.len === this.buf.length ? this.buf : this.buf.slice(0, this.len));
  }
}

/** Runs `write` on a fresh writer bounded by `limit` (`transient`: see Writer). */
export function encodeWith(limit: number, write: (w: Writer) => void, initial?: number, transient = false): Result<Uint8Array, WireError> {
  const w = new Writer(limit, initial, transient);
  write(w);
  return w.finish();
}

/**
 * Runs `read` over the whole of `bytes`: more than `limit` bytes is 'oversize',
 * a read past the end 'truncated', a byte left over 'trailing'.
 */
export function decodeWith<T>(bytes: Uint8Array, limit: number, read: (r: Reader) => T): Result<T, WireError> {
  if (!(bytes instanceof Uint8Array)) return err(wireError('field', 'input is not bytes'));
  if (bytes.length > limit) return err(wireError('oversize', `${bytes.length} > ${limit} bytes`));
  const r = new Reader(bytes);
  const value = read(r);
  return r.finish(value);
}
