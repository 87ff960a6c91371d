/** Shared fast-check arbitraries for the wire tests. */

import { SocketAddress } from 'node:net';
import fc from 'fast-check';
import {
  KEY_SIZE,
  MAX_EMAIL_BYTES,
  MAX_SESSION_BODY,
  TICKET_SIZE,
} from '../../runtime/wire/constants.ts';
import type {
  Address,
  AuthRequest,
  AuthResult,
  Delta,
  Member,
  SessionBody,
} from '../../runtime/wire/types.ts';
import { deltaSize, memberSize } from '../../runtime/wire/member.ts';

export const enc = new TextEncoder();
export const byteLen = (s: string): number => enc.encode(s).length;

/** What Node itself prints for an address (the oracle for canonical text). */
export function nodeCanonical(host: string, family: 4 | 6): string {
  return new SocketAddress({ address: host, family: family === 4 ? 'ipv4' : 'ipv6' }).address;
}

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
export const port = fc.integer({ min: 1, max: 0xffff });
export const key = fc.uint8Array({ minLength: KEY_SIZE, maxLength: KEY_SIZE });
export const ticket = fc.uint8Array({ minLength: TICKET_SIZE, maxLength: TICKET_SIZE });

/** Strings of at most `max` UTF-8 bytes: ASCII, any Unicode, and strings filled to exactly `max`. */
export function utf8String(max: number, min = 0): fc.Arbitrary<string> {
  const ascii = fc.string({ unit: 'grapheme-ascii', minLength: min, maxLength: max });
  const unicode = fc
    .string({ unit: 'binary', minLength: min, maxLength: Math.ceil(max / 2) })
    .filter((s) => byteLen(s) <= max && byteLen(s) >= min);
  // Mixed 1-, 2-, 3- and 4-byte characters, padded with ASCII to exactly `max` bytes.
  const full = fc
    .array(fc.constantFrom('a', 'é', 'ß', '€', '中', '😀', '\u{10FFFF}', '\uFEFF'), { maxLength: 80 })
    .map((chars) => {
      let s = '';
      for (const c of chars) if (byteLen(s + c) <= max) s += c;
      return s + 'x'.repeat(max - byteLen(s));
    });
  return fc.oneof(ascii, unicode, full);
}

export const email = utf8String(MAX_EMAIL_BYTES);
/** Passwords are 1..255 bytes. */
export const password = utf8String(255, 1);
export const cursor = utf8String(255);

export const ipv4Address: fc.Arbitrary<Address> = fc
  .record({ host: fc.ipV4(), port })
  .map(({ host, port }) => ({ family: 4 as const, host: nodeCanonical(host, 4), port }));

/** IPv6 from random bytes biased toward zero runs and IPv4-mapped forms, in canonical text. */
export const ipv6Bytes = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0x100, 0xfe80), { minLength: 8, maxLength: 8 }).map((words) => {
    const out = new Uint8Array(16);
    words.forEach((w, i) => {
      out[2 * i] = w >> 8;
      out[2 * i + 1] = w & 0xff;
    });
    return out;
  }),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((v4) => Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4)),
);

export function bytesToFullIPv6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push((((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

export const ipv6Address: fc.Arbitrary<Address> = fc
  .record({ ip: fc.oneof(fc.ipV6(), ipv6Bytes.map(bytesToFullIPv6)), port })
  .map(({ ip, port }) => ({ family: 6 as const, host: nodeCanonical(ip, 6), port }));

export const address = fc.oneof(ipv4Address, ipv6Address);

export const member: fc.Arbitrary<Member> = fc.record({ email, address, peerKey: key });

export const delta: fc.Arbitrary<Delta> = fc.oneof(
  member.map((m): Delta => ({ kind: 'join', member: m })),
  member.map((m): Delta => ({ kind: 'update', member: m })),
  email.map((e): Delta => ({ kind: 'leave', email: e })),
);

/** The longest prefix of `items` whose sizes sum to at most `budget`. */
export function prefixWithin<T>(items: T[], size: (t: T) => number, budget: number): T[] {
  const out: T[] = [];
  let used = 0;
  for (const t of items) {
    used += size(t);
    if (used > budget) break;
    out.push(t);
  }
  return out;
}

export const authRequest: fc.Arbitrary<AuthRequest> = fc.oneof(
  fc.record({ kind: fc.constant('signup' as const), email, password }),
  fc.record({ kind: fc.constant('login' as const), email, password, peerKey: key }),
  fc.record({ kind: fc.constant('resume' as const), email, ticket, peerKey: key, epoch: u32, version: u32 }),
);

export const authResult: fc.Arbitrary<AuthResult> = fc.oneof(
  fc.constantFrom<AuthResult>(
    { status: 'signed_up' },
    { status: 'email_taken' },
    { status: 'invalid_email' },
    { status: 'unknown_email' },
    { status: 'wrong_password' },
    { status: 'ticket_refused' },
    { status: 'server_error' },
  ),
  fc.record({
    status: fc.constant('session' as const),
    sid: u32,
    ticket,
    resetToken: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    intervalMs: u32,
    misses: u8,
    epoch: u32,
    address,
  }),
  fc.record({ status: fc.constant('weak_password' as const), minLength: u8 }),
  fc.record({ status: fc.constant('rate_limited' as const), retryAfterS: u16 }),
);

export const sessionBody: fc.Arbitrary<SessionBody> = fc.oneof(
  fc
    .record({
      probe: u32,
      epoch: u32,
      version: u32,
      base: u32,
      resync: fc.boolean(),
      deltas: fc.array(delta, { maxLength: 12 }),
    })
    .map((t): SessionBody => ({
      type: 'TRUCO',
      ...t,
      deltas: prefixWithin(t.deltas, deltaSize, MAX_SESSION_BODY - 19),
    })),
  fc.record({ probe: u32, epoch: u32, version: u32 }).map((s): SessionBody => ({ type: 'SEIS', ...s })),
  fc.record({ request: u16, cursor }).map((s): SessionBody => ({ type: 'ROSTER_REQ', ...s })),
  fc
    .record({
      request: u16,
      epoch: u32,
      version: u32,
      more: fc.boolean(),
      next: cursor,
      entries: fc.array(member, { maxLength: 12 }),
    })
    .map((p): SessionBody => ({
      type: 'ROSTER_PAGE',
      ...p,
      entries: prefixWithin(p.entries, memberSize, MAX_SESSION_BODY - 14 - byteLen(p.next)),
    })),
  fc.constant<SessionBody>({ type: 'BYE' }),
  fc.constant<SessionBody>({ type: 'BYE_ACK' }),
  fc
    .constantFrom('elsewhere' as const, 'dropped' as const, 'shutdown' as const, 'ticket_revoked' as const)
    .map((reason): SessionBody => ({ type: 'KICK', reason })),
);
