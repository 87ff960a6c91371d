/** SEIS body: `probe u32 | epoch u32 | version u32` (the roster version the client holds). */

import type { Result } from 'neverthrow';
import { MAX_SESSION_BODY } from './constants.ts';
import { decodeWith, encodeWith, type Reader, type Writer } from './buffer.ts';
import type { WireError } from './errors.ts';
import type { Seis } from './types.ts';

export const SEIS_SIZE = 12;

export function writeSeis(w: Writer, msg: Seis): void {
  w.u32(msg.probe, 'probe');
  w.u32(msg.epoch, 'epoch');
  w.u32(msg.version, 'version');
}

export function readSeis(r: Reader): Seis {
  const probe = r.u32('probe');
  const epoch = r.u32('epoch');
  const version = r.u32('version');
  return { type: 'SEIS', probe, epoch, version };
}

export function encodeSeis(msg: Seis): Result<Uint8Array, WireError> {
  return encodeWith(MAX_SESSION_BODY, (w) => writeSeis(w, msg), SEIS_SIZE);
}

export function decodeSeis(bytes: Uint8Array): Result<Seis, WireError> {
  return decodeWith(bytes, MAX_SESSION_BODY, readSeis);
}
