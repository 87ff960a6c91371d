/** The two-byte clear header `ver u8 | type u8` that starts every datagram. */

import { err, ok, type Result } from 'neverthrow';
import { MAX_DATAGRAM, VERSION } from './constants.ts';
import { Reader, type Writer } from './buffer.ts';
import { wireError, type WireError } from './errors.ts';

export const OUTER_HEADER_SIZE = 2;

export function writeHeader(w: Writer, type: number): void {
  w.u8(VERSION, 'version');
  w.u8(type, 'type');
}

/**
 * Checks the datagram bound, the version and the type (a single code or a set)
 * and returns a reader positioned after the header. Order of checks: not bytes
 * → 'field', more than 1200 bytes → 'oversize', empty → 'truncated', another
 * version → 'version', no type byte → 'truncated', another type → 'type'.
 */
export function openOuter(bytes: Uint8Array, expected: number | ReadonlySet<number>): Result<Reader, WireError> {
  if (!(bytes instanceof Uint8Array)) return err(wireError('field', 'input is not bytes'));
  if (bytes.length > MAX_DATAGRAM) return err(wireError('oversize', `${bytes.length} > ${MAX_DATAGRAM} bytes`));
  if (bytes.length === 0) return err(wireError('truncated', 'empty datagram'));
  const version = bytes[0] ?? 0;
  if (version !== VERSION) return err(wireError('version', `version ${version}`));
  if (bytes.length < OUTER_HEADER_SIZE) return err(wireError('truncated', 'no type byte'));
  const type = bytes[1] ?? 0;
  const known = typeof expected === 'number' ? type === expected : expected.has(type);
  if (!known) return err(wireError('type', `type 0x${type.toString(16).padStart(2, '0')}`));
  return ok(new Reader(bytes, OUTER_HEADER_SIZE));
}

/** Length check for fixed-size datagrams: short → 'truncated', long → 'trailing'. */
export function exactLength(bytes: Uint8Array, size: number, what: string): WireError | null {
  if (bytes.length < size) return wireError('truncated', `${what} is ${bytes.length} bytes, not ${size}`);
  if (bytes.length > size) return wireError('trailing', `${what} is ${bytes.length} bytes, not ${size}`);
  return null;
}

/** Length check for datagrams ending in a sealed part: shorter than `min` → 'truncated'. */
export function minLength(bytes: Uint8Array, min: number, what: string): WireError | null {
  return bytes.length < min ? wireError('truncated', `${what} is ${bytes.length} bytes, less than ${min}`) : null;
}
