/**
 * Roster entry `email str8 | address | peerKey bytes32` and presence delta
 * `kind u8 | email str8 [| address | peerKey bytes32]` (address and key for
 * JOIN and UPDATE only).
 */

import type { Result } from 'neverthrow';
import { DeltaKind, KEY_SIZE, MAX_EMAIL_BYTES, MAX_SESSION_BODY } from './constants.ts';
import { decodeWith, encodeWith, utf8Length, type Reader, type StrBounds, type Writer } from './buffer.ts';
import { addressSize, readAddress, writeAddress } from './address.ts';
import type { WireError } from './errors.ts';
import type { Delta, Member } from './types.ts';

/** Emails on the wire: at most 254 UTF-8 bytes (content is checked by the account layer). */
export const EMAIL: StrBounds = { min: 0, max: MAX_EMAIL_BYTES, what: 'email' };

/** Encoded size of a roster entry. */
export function memberSize(member: Member): number {
  return 1 + utf8Length(member.email) + addressSize(member.address) + KEY_SIZE;
}

/** Encoded size of a delta. */
export function deltaSize(delta: Delta): number {
  if (delta.kind === 'leave') return 1 + 1 + utf8Length(delta.email);
  return 1 + memberSize(delta.member);
}

export function writeMember(w: Writer, member: Member): void {
  w.str8(member.email, EMAIL);
  writeAddress(w, member.address);
  w.bytes(member.peerKey, KEY_SIZE, 'peerKey');
}

export function readMember(r: Reader): Member {
  const email = r.str8(EMAIL);
  const address = readAddress(r);
  const peerKey = r.copy(KEY_SIZE, 'peerKey');
  return { email, address, peerKey };
}

export function writeDelta(w: Writer, delta: Delta): void {
  switch (delta.kind) {
    case 'join':
      w.u8(DeltaKind.JOIN);
      writeMember(w, delta.member);
      return;
    case 'update':
      w.u8(DeltaKind.UPDATE);
      writeMember(w, delta.member);
      return;
    case 'leave':
      w.u8(DeltaKind.LEAVE);
      w.str8(delta.email, EMAIL);
      return;
    default:
      w.fail('field', 'delta kind');
  }
}

export function readDelta(r: Reader): Delta {
  const kind = r.u8('delta kind');
  if (r.error === null) {
    if (kind === DeltaKind.JOIN) return { kind: 'join', member: readMember(r) };
    if (kind === DeltaKind.UPDATE) return { kind: 'update', member: readMember(r) };
    if (kind === DeltaKind.LEAVE) return { kind: 'leave', email: r.str8(EMAIL) };
    r.fail('field', `delta kind ${kind}`);
  }
  return { kind: 'leave', email: '' };
}

/** Standalone entry codec (bounded by a session body). */
export function encodeMember(member: Member): Result<Uint8Array, WireError> {
  return encodeWith(MAX_SESSION_BODY, (w) => writeMember(w, member));
}
export function decodeMember(bytes: Uint8Array): Result<Member, WireError> {
  return decodeWith(bytes, MAX_SESSION_BODY, readMember);
}

/** Standalone delta codec (bounded by a session body). */
export function encodeDelta(delta: Delta): Result<Uint8Array, WireError> {
  return encodeWith(MAX_SESSION_BODY, (w) => writeDelta(w, delta));
}
export function decodeDelta(bytes: Uint8Array): Result<Delta, WireError> {
  return decodeWith(bytes, MAX_SESSION_BODY, readDelta);
}
