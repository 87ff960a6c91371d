/**
 * CHAT body, one fragment of a message: `seq u32 | floor u32 | message id (8)
 * | index u8 | count u8 | payload (1–1148 bytes)`. A message of up to 64 KiB
 * of UTF-8 is split into `count` ≤ 58 fragments with consecutive `seq`s;
 * `index` < `count`. `floor` ≤ `seq`: every seq below it is acknowledged or
 * abandoned by the sender, so the receiver may stop waiting for it.
 */

import type { Result } from 'neverthrow';
import { CHAT_HEADER_SIZE, MAX_FRAGMENT, MAX_FRAGMENTS, MAX_PEER_BODY, MESSAGE_ID_SIZE } from './constants.ts';
import { decodeWith, encodeWith, type Reader, type Writer } from './buffer.ts';
import type { WireError } from './errors.ts';
import type { ChatFrame } from './types.ts';

export function writeChat(w: Writer, f: ChatFrame): void {
  w.u32(f.seq, 'seq');
  w.u32(f.floor, 'floor');
  if (f.floor > f.seq) w.fail('field', 'floor above seq');
  w.bytes(f.messageId, MESSAGE_ID_SIZE, 'message id');
  w.u8(f.index, 'index');
  w.u8(f.count, 'count');
  if (f.count < 1 || f.count > MAX_FRAGMENTS || f.index >= f.count) w.fail('field', `fragment ${f.index}/${f.count}`);
  if (!(f.payload instanceof Uint8Array) || f.payload.length < 1 || f.payload.length > MAX_FRAGMENT) w.fail('field', 'fragment payload length');
  else w.bytes(f.payload);
}

export function readChat(r: Reader): ChatFrame {
  const seq = r.u32('seq');
  const floor = r.u32('floor');
  const messageId = r.copy(MESSAGE_ID_SIZE, 'message id');
  const index = r.u8('index');
  const count = r.u8('count');
  const payload = r.copy(Math.max(0, r.remaining), 'payload');
  if (r.error === null) {
    if (floor > seq) r.fail('field', 'floor above seq');
    else if (count < 1 || count > MAX_FRAGMENTS || index >= count) r.fail('field', `fragment ${index}/${count}`);
    else if (payload.length < 1 || payload.length > MAX_FRAGMENT) r.fail('field', `payload of ${payload.length} bytes`);
  }
  return { type: 'CHAT', seq, floor, messageId, index, count, payload };
}

export function encodeChat(f: ChatFrame): Result<Uint8Array, WireError> {
  return encodeWith(MAX_PEER_BODY, (w) => writeChat(w, f), CHAT_HEADER_SIZE + (f.payload?.length ?? 0), true);
}

export function decodeChat(bytes: Uint8Array): Result<ChatFrame, WireError> {
  return decodeWith(bytes, MAX_PEER_BODY, readChat);
}
