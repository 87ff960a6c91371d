/**
 * BUNDLE body (0x22): several peer frames in one datagram, each `type u8 |
 * len u16 | body (len bytes)` where type is CHAT or ACK and body is that
 * frame's own body, one after another, at least one. What a channel sends in
 * one turn of the event loop goes out as few datagrams as fit in 1200 bytes:
 * one seal, one header and one system call for many small messages. A frame
 * that fills a datagram alone is sent as its own CHAT.
 */

import { err, ok, type Result } from 'neverthrow';
import { MAX_PEER_BODY, Type } from './constants.ts';
import { decodeWith, encodeWith } from './buffer.ts';
import { wireError, type WireError } from './errors.ts';

/** A peer frame already encoded: its type code (CHAT or ACK) and body. */
export interface EncodedFrame {
  code: number;
  bytes: Uint8Array;
}

/** type u8 | len u16 */
export const BUNDLE_FRAME_HEADER = 3;

const FRAME_TYPES: ReadonlySet<number> = new Set([Type.CHAT, Type.ACK]);

/** The bundle of `frames` (all CHAT/ACK, together ≤ MAX_PEER_BODY with their 3-byte headers). */
export function encodeBundle(frames: readonly EncodedFrame[]): Result<Uint8Array, WireError> {
  const size = bundleSize(frames);
  return encodeWith(
    MAX_PEER_BODY,
    (w) => {
      if (frames.length === 0) w.fail('field', 'empty bundle');
      for (const f of frames) {
        if (!FRAME_TYPES.has(f.code)) w.fail('type', `not a bundled type: ${String(f.code)}`);
        if (f.bytes.length < 1) w.fail('field', 'empty bundled frame');
        w.u8(f.code, 'frame type');
        w.u16(f.bytes.length, 'frame length');
        w.bytes(f.bytes);
      }
    },
    size,
    true,
  );
}

/** The frames of a bundle, as views into `bytes`; any bad frame fails the whole bundle. */
export function decodeBundle(bytes: Uint8Array): Result<EncodedFrame[], WireError> {
  return decodeWith(bytes, MAX_PEER_BODY, (r) => {
    const frames: EncodedFrame[] = [];
    if (r.remaining === 0) r.fail('truncated', 'empty bundle');
    while (r.error === null && r.remaining > 0) {
      const code = r.u8('frame type');
      const len = r.u16('frame length');
      const body = r.view(len, 'frame');
      if (r.error !== null) break;
      if (!FRAME_TYPES.has(code)) r.fail('type', `not a bundled type: ${String(code)}`);
      else if (len < 1) r.fail('field', 'empty bundled frame');
      else frames.push({ code, bytes: body });
    }
    return frames;
  });
}

/** Bytes of the bundle of `frames`. */
export function bundleSize(frames: readonly EncodedFrame[]): number {
  let n = 0;
  for (const f of frames) n += BUNDLE_FRAME_HEADER + f.bytes.length;
  return n;
}

/**
 * Splits `frames`, in order, into runs that each fit one datagram body: a run of one is sent as
 * that frame's own datagram, a longer run as a BUNDLE.
 */
export function packFrames(frames: readonly EncodedFrame[], limit = MAX_PEER_BODY): EncodedFrame[][] {
  const runs: EncodedFrame[][] = [];
  let run: EncodedFrame[] = [];
  let size = 0;
  for (const f of frames) {
    const add = BUNDLE_FRAME_HEADER + f.bytes.length;
    if (run.length > 0 && size + add > limit) {
      runs.push(run);
      run = [];
      size = 0;
    }
    run.push(f);
    size += add;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** The one datagram body for a run from `packFrames`: the frame itself, or their bundle. */
export function runBody(run: readonly EncodedFrame[]): Result<EncodedFrame, WireError> {
  if (run.length === 1) return ok(run[0]!);
  if (run.length === 0) return err(wireError('field', 'empty run'));
  return encodeBundle(run).map((bytes) => ({ code: Type.BUNDLE, bytes }));
}
