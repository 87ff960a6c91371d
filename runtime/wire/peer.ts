/**
 * Peer datagrams (CHAT 0x20, ACK 0x21, BUNDLE 0x22), sent straight from one client to
 * another: `ver | type | sender key id (8) | counter u64 | ciphertext(body) +
 * tag`. The 18-byte clear header is the associated data, so neither the type,
 * the claimed sender nor the counter can be changed without failing the tag.
 */

import { err, type Result } from 'neverthrow';
import { KEY_ID_SIZE, MAX_DATAGRAM, MAX_PEER_BODY, PEER_HEADER_SIZE, PEER_OVERHEAD, PEER_TYPES, TAG_SIZE, Type, VERSION } from './constants.ts';
import { encodeWith } from './buffer.ts';
import { minLength, openOuter, writeHeader } from './header.ts';
import { wireError, type WireError } from './errors.ts';
import type { PeerBody, PeerSealed } from './types.ts';
import { decodeChat, encodeChat } from './chat.ts';
import { decodeAck, encodeAck } from './ack.ts';

/**
 * The 18-byte clear header (associated data, then prefix of the datagram).
 * Inputs are assumed valid: `keyId` is 8 bytes, `counter` is taken modulo 2^64.
 */
export function encodePeerHeader(code: number, keyId: Uint8Array, counter: bigint): Uint8Array {
  const out = new Uint8Array(PEER_HEADER_SIZE);
  out[0] = VERSION;
  out[1] = code & 0xff;
  out.set(keyId.subarray(0, KEY_ID_SIZE), 2);
  new DataView(out.buffer).setBigUint64(2 + KEY_ID_SIZE, BigInt.asUintN(64, counter));
  return out;
}

/**
 * A peer datagram's buffer with its header written and room after it for `bodyLength` bytes
 * sealed (body and tag), for `Sender.sealAfter`: one pooled allocation for the whole datagram.
 */
export function peerDatagram(code: number, keyId: Uint8Array, counter: number, bodyLength: number): Buffer {
  const out = Buffer.allocUnsafe(PEER_HEADER_SIZE + bodyLength + TAG_SIZE);
  out[0] = VERSION;
  out[1] = code & 0xff;
  out.set(keyId.subarray(0, KEY_ID_SIZE), 2);
  out.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 2 + KEY_ID_SIZE);
  out.writeUInt32BE(counter >>> 0, 6 + KEY_ID_SIZE);
  return out;
}

/** A whole peer datagram: header ‖ sealed, every field checked, ≤ 1200 bytes. */
export function encodePeer(code: number, keyId: Uint8Array, counter: bigint, sealed: Uint8Array): Result<Uint8Array, WireError> {
  if (!PEER_TYPES.has(code)) return err(wireError('type', `not a peer type: ${String(code)}`));
  return encodeWith(
    MAX_DATAGRAM,
    (w) => {
      writeHeader(w, code);
      w.bytes(keyId, KEY_ID_SIZE, 'key id');
      w.u64(counter, 'counter');
      if (sealed.length < TAG_SIZE) w.fail('field', 'peer sealed part shorter than a tag');
      w.bytes(sealed);
    },
    PEER_HEADER_SIZE + sealed.length,
  );
}

/** `keyId`, `sealed` and `aad` are views into `bytes`. */
export function decodePeer(bytes: Uint8Array): Result<PeerSealed, WireError> {
  return openOuter(bytes, PEER_TYPES).andThen((r) => {
    const bad = minLength(bytes, PEER_OVERHEAD, 'peer datagram');
    if (bad !== null) return err(bad);
    const code = bytes[1] ?? 0;
    const keyId = r.view(KEY_ID_SIZE, 'key id');
    const counter = r.u64('counter');
    const sealed = r.rest();
    return r.finish<PeerSealed>({ type: 'PEER', code, keyId, counter, sealed, aad: bytes.subarray(0, PEER_HEADER_SIZE) });
  });
}

/** The type code of a peer body. */
export function peerBodyCode(body: PeerBody): number {
  return Type[body.type];
}

/** Encodes a peer body (≤ 1166 bytes) with the type code of its datagram. */
export function encodePeerBody(body: PeerBody): Result<{ code: number; bytes: Uint8Array }, WireError> {
  const bytes = body.type === 'CHAT' ? encodeChat(body) : body.type === 'ACK' ? encodeAck(body) : err(wireError('type', 'unknown peer body'));
  return bytes.map((b) => ({ code: Type[body.type], bytes: b }));
}

/** Decodes the plaintext of a peer datagram of type `code`. */
export function decodePeerBody(code: number, bytes: Uint8Array): Result<PeerBody, WireError> {
  if (!(bytes instanceof Uint8Array)) return err(wireError('field', 'input is not bytes'));
  if (bytes.length > MAX_PEER_BODY) return err(wireError('oversize', `${bytes.length} > ${MAX_PEER_BODY} bytes`));
  if (code === Type.CHAT) return decodeChat(bytes);
  if (code === Type.ACK) return decodeAck(bytes);
  return err(wireError('type', `not a peer type: ${String(code)}`));
}
