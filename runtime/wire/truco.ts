/**
 * TRUCO body: `probe u32 | epoch u32 | version u32 | base u32 | flags u8
 * (bit 0 = resync) | count u16 | delta*`. With no deltas it is 19 bytes.
 */

import type { Result } from 'neverthrow';
import { MAX_SESSION_BODY } from './constants.ts';
import { decodeWith, encodeWith, type Reader, type Writer } from './buffer.ts';
import { deltaSize, readDelta, writeDelta } from './member.ts';
import type { WireError } from './errors.ts';
import type { Delta, Truco } from './types.ts';

export const TRUCO_HEADER_SIZE = 4 + 4 + 4 + 4 + 1 + 2;
const FLAG_RESYNC = 0x01;

/** Encoded body size of a TRUCO carrying `deltas`. */
export function trucoSize(deltas: Iterable<Delta>): number {
  let n = TRUCO_HEADER_SIZE;
  for (const d of deltas) n += deltaSize(d);
  return n;
}

export function writeTruco(w: Writer, msg: Truco): void {
  w.u32(msg.probe, 'probe');
  w.u32(msg.epoch, 'epoch');
  w.u32(msg.version, 'version');
  w.u32(msg.base, 'base');
  w.u8(msg.resync ? FLAG_RESYNC : 0);
  w.u16(msg.deltas.length, 'delta count');
  for (const d of msg.deltas) writeDelta(w, d);
}

export function readTruco(r: Reader): Truco {
  const probe = r.u32('probe');
  const epoch = r.u32('epoch');
  const version = r.u32('version');
  const base = r.u32('base');
  const flags = r.u8('flags');
  if (r.error === null && (flags & ~FLAG_RESYNC) !== 0) r.fail('field', `TRUCO flags 0x${flags.toString(16)}`);
  const count = r.u16('delta count');
  const deltas: Delta[] = [];
  for (let i = 0; i < count && r.error === null; i++) deltas.push(readDelta(r));
  return { type: 'TRUCO', probe, epoch, version, base, resync: (flags & FLAG_RESYNC) !== 0, deltas };
}

export function encodeTruco(msg: Truco): Result<Uint8Array, WireError> {
  return encodeWith(MAX_SESSION_BODY, (w) => writeTruco(w, msg));
}

export function decodeTruco(bytes: Uint8Array): Result<Truco, WireError> {
  return decodeWith(bytes, MAX_SESSION_BODY, readTruco);
}
