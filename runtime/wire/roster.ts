/**
 * ROSTER_REQ body: `request u16 | cursor str8` (empty cursor = from the start).
 * ROSTER_PAGE body: `request u16 | epoch u32 | version u32 | flags u8 (bit 0 =
 * more) | next cursor str8 | count u16 | entry*`.
 *
 * Plus the server's page builder, which packs as many entries as fit in one
 * body of at most 1170 bytes.
 */

import { err, ok, type Result } from 'neverthrow';
import { MAX_SESSION_BODY } from './constants.ts';
import { decodeWith, encodeWith, utf8Length, type Reader, type StrBounds, type Writer } from './buffer.ts';
import { memberSize, readMember, writeMember } from './member.ts';
import { wireError, type WireError } from './errors.ts';
import type { Member, RosterPage, RosterReq } from './types.ts';

const CURSOR: StrBounds = { min: 0, max: 255, what: 'cursor' };
const FLAG_MORE = 0x01;

/** ROSTER_PAGE body without the cursor bytes and the entries (14 bytes). */
export const ROSTER_PAGE_HEADER_SIZE = 2 + 4 + 4 + 1 + 1 + 2;

// ---- ROSTER_REQ --------------------------------------------------------------------

export function writeRosterReq(w: Writer, msg: RosterReq): void {
  w.u16(msg.request, 'request');
  w.str8(msg.cursor, CURSOR);
}

export function readRosterReq(r: Reader): RosterReq {
  const request = r.u16('request');
  const cursor = r.str8(CURSOR);
  return { type: 'ROSTER_REQ', request, cursor };
}

export function encodeRosterReq(msg: RosterReq): Result<Uint8Array, WireError> {
  return encodeWith(MAX_SESSION_BODY, (w) => writeRosterReq(w, msg));
}

export function decodeRosterReq(bytes: Uint8Array): Result<RosterReq, WireError> {
  return decodeWith(bytes, MAX_SESSION_BODY, readRosterReq);
}

// ---- ROSTER_PAGE -------------------------------------------------------------------

export function writeRosterPage(w: Writer, msg: RosterPage): void {
  w.u16(msg.request, 'request');
  w.u32(msg.epoch, 'epoch');
  w.u32(msg.version, 'version');
  w.u8(msg.more ? FLAG_MORE : 0);
  w.str8(msg.next, { ...CURSOR, what: 'next cursor' });
  w.u16(msg.entries.length, 'entry count');
  for (const m of msg.entries) writeMember(w, m);
}

export function readRosterPage(r: Reader): RosterPage {
  const request = r.u16('request');
  const epoch = r.u32('epoch');
  const version = r.u32('version');
  const flags = r.u8('flags');
  if (r.error === null && (flags & ~FLAG_MORE) !== 0) r.fail('field', `ROSTER_PAGE flags 0x${flags.toString(16)}`);
  const next = r.str8({ ...CURSOR, what: 'next cursor' });
  const count = r.u16('entry count');
  const entries: Member[] = [];
  for (let i = 0; i < count && r.error === null; i++) entries.push(readMember(r));
  return { type: 'ROSTER_PAGE', request, epoch, version, more: (flags & FLAG_MORE) !== 0, next, entries };
}

export function encodeRosterPage(msg: RosterPage): Result<Uint8Array, WireError> {
  return encodeWith(MAX_SESSION_BODY, (w) => writeRosterPage(w, msg), 256);
}

export function decodeRosterPage(bytes: Uint8Array): Result<RosterPage, WireError> {
  return decodeWith(bytes, MAX_SESSION_BODY, readRosterPage);
}

/** Encoded body size of a ROSTER_PAGE. */
export function rosterPageSize(next: string, entries: Iterable<Member>): number {
  let n = ROSTER_PAGE_HEADER_SIZE + utf8Length(next);
  for (const m of entries) n += memberSize(m);
  return n;
}

// ---- paging --------------------------------------------------------------------------

/**
 * Takes entries in order while their total encoded size stays ≤ `maxBytes`,
 * stopping at the first that does not fit. `more` tells whether one was left
 * (it has been read from the iterable, so pass a fresh iterable per page).
 */
export function fitEntries(
  members: Iterable<Member>,
  maxBytes: number,
): { entries: Member[]; bytes: number; more: boolean } {
  const entries: Member[] = [];
  let bytes = 0;
  for (const m of members) {
    const size = memberSize(m);
    if (bytes + size > maxBytes) return { entries, bytes, more: true };
    entries.push(m);
    bytes += size;
  }
  return { entries, bytes, more: false };
}

export interface RosterPageInput {
  request: number;
  epoch: number;
  version: number;
  /** the online list in paging order, starting just after the request's cursor */
  members: Iterable<Member>;
  /** the cursor a client sends to continue after `m`; by default its email */
  cursorOf?: (m: Member) => string;
  /** body budget, by default MAX_SESSION_BODY (1170) */
  maxBytes?: number;
}

/**
 * Builds the largest ROSTER_PAGE whose body fits `maxBytes`: entries are taken
 * in order; when some are left, `more` is set and `next` is the cursor of the
 * last entry taken (its length counts against the budget); on the last page
 * `next` is empty. Reads at most one member beyond the page. Errors: 'field'
 * for a cursor over 255 bytes, 'oversize' when not even one entry fits.
 */
export function buildRosterPage(input: RosterPageInput): Result<RosterPage, WireError> {
  const maxBytes = Math.min(input.maxBytes ?? MAX_SESSION_BODY, MAX_SESSION_BODY);
  const cursorOf = input.cursorOf ?? ((m: Member) => m.email);
  const entries: Member[] = [];
  let size = ROSTER_PAGE_HEADER_SIZE;
  let next = '';
  let more = false;

  const it = input.members[Symbol.iterator]();
  let cur = it.next();
  while (cur.done !== true) {
    const member = cur.value;
    const after = it.next();
    const last = after.done === true;
    const cursor = last ? '' : cursorOf(member);
    const cursorBytes = utf8Length(cursor);
    if (cursorBytes > 255) return err(wireError('field', `cursor of ${cursorBytes} bytes`));
    const grown = size + memberSize(member);
    if (grown + cursorBytes > maxBytes) {
      if (entries.length === 0) return err(wireError('oversize', 'a single roster entry does not fit the page'));
      more = true;
      break;
    }
    entries.push(member);
    size = grown;
    next = cursor;
    cur = after;
  }
  if (!more) next = '';
  return ok({
    type: 'ROSTER_PAGE',
    request: input.request,
    epoch: input.epoch,
    version: input.version,
    more,
    next,
    entries,
  });
}
