/**
 * ACK body: `cum u32 | sack u64 | floor u32`, 16 bytes. `cum` is the next seq
 * the receiver expects (all below it were received, or skipped below the
 * sender's floor); bit i of `sack` (least significant first) says seq
 * `cum + 1 + i` was received too. The receive window is 64 datagrams, so 64
 * bits cover it. `floor` is the ACK sender's own send floor (as in CHAT): an
 * ACK is also how a side that abandoned a message tells the other to stop
 * waiting for it when it has nothing else to send.
 */

import type { Result } from 'neverthrow';
import { ACK_SIZE, MAX_PEER_BODY } from './constants.ts';
import { decodeWith, encodeWith, type Reader, type Writer } from './buffer.ts';
import type { WireError } from './errors.ts';
import type { AckFrame } from './types.ts';

export function writeAck(w: Writer, f: AckFrame): void {
  w.u32(f.cum, 'cum');
  w.u64(f.sack, 'sack');
  w.u32(f.floor, 'floor');
}

export function readAck(r: Reader): AckFrame {
  const cum = r.u32('cum');
  const sack = r.u64('sack');
  const floor = r.u32('floor');
  return { type: 'ACK', cum, sack, floor };
}

export function encodeAck(f: AckFrame): Result<Uint8Array, WireError> {
  return encodeWith(MAX_PEER_BODY, (w) => writeAck(w, f), ACK_SIZE, true);
}

export function decodeAck(bytes: Uint8Array): Result<AckFrame, WireError> {
  return decodeWith(bytes, MAX_PEER_BODY, readAck);
}
