/**
 * Session datagrams (0x10–0x16): `ver | type | sid u32 | counter u64 |
 * ciphertext(body) + tag`; the associated data is the 14-byte clear header.
 */

import { err, type Result } from 'neverthrow';
import { MAX_DATAGRAM, SESSION_HEADER_SIZE, SESSION_OVERHEAD, SESSION_TYPES, TAG_SIZE, VERSION } from './constants.ts';
import { encodeWith } from './buffer.ts';
import { minLength, openOuter, writeHeader } from './header.ts';
import { wireError, type WireError } from './errors.ts';
import type { SessionSealed } from './types.ts';

/**
 * The 14-byte clear header, to be used as associated data and prefixed to the
 * sealed body. Inputs are assumed valid: `sid` is taken modulo 2^32, `counter`
 * modulo 2^64, `code` modulo 256 (use `encodeSession` for a checked datagram).
 */
export function encodeSessionHeader(code: number, sid: number, counter: bigint): Uint8Array {
  const out = new Uint8Array(SESSION_HEADER_SIZE);
  const view = new DataView(out.buffer);
  view.setUint8(0, VERSION);
  view.setUint8(1, code & 0xff);
  view.setUint32(2, sid >>> 0);
  view.setBigUint64(6, BigInt.asUintN(64, counter));
  return out;
}

/**
 * A session datagram's buffer with its header written and room after it for `bodyLength` bytes
 * sealed (body and tag), for `Sender.sealAfter`: one allocation (a slice of Node's pool: it lives
 * only until the kernel has taken the datagram) for the whole datagram. `counter` is a safe integer.
 */
export function sessionDatagram(code: number, sid: number, counter: number, bodyLength: number): Buffer {
  const out = Buffer.allocUnsafe(SESSION_HEADER_SIZE + bodyLength + TAG_SIZE);
  out[0] = VERSION;
  out[1] = code & 0xff;
  out.writeUInt32BE(sid >>> 0, 2);
  out.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 6);
  out.writeUInt32BE(counter >>> 0, 10);
  return out;
}

/** A whole session datagram: header ‖ sealed, every field checked, ≤ 1200 bytes. */
export function encodeSession(code: number, sid: number, counter: bigint, sealed: Uint8Array): Result<Uint8Array, WireError> {
  if (!SESSION_TYPES.has(code)) return err(wireError('type', `not a session type: ${String(code)}`));
  return encodeWith(
    MAX_DATAGRAM,
    (w) => {
      writeHeader(w, code);
      w.u32(sid, 'sid');
      w.u64(counter, 'counter');
      if (sealed.length < TAG_SIZE) w.fail('field', 'session sealed part shorter than a tag');
      w.bytes(sealed);
    },
    SESSION_HEADER_SIZE + sealed.length,
  );
}

/** `sealed` and `aad` are views into `bytes`. */
export function decodeSession(bytes: Uint8Array): Result<SessionSealed, WireError> {
  return openOuter(bytes, SESSION_TYPES).andThen((r) => {
    const bad = minLength(bytes, SESSION_OVERHEAD, 'session datagram');
    if (bad !== null) return err(bad);
    const code = bytes[1] ?? 0;
    const sid = r.u32('sid');
    const counter = r.u64('counter');
    const sealed = r.rest();
    return r.finish<SessionSealed>({
      type: 'SESSION',
      code,
      sid,
      counter,
      sealed,
      aad: bytes.subarray(0, SESSION_HEADER_SIZE),
    });
  });
}
