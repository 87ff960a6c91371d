import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DATAGRAM, MAX_SESSION_BODY, SESSION_OVERHEAD, Type } from '../../runtime/wire/constants.ts';
import { buildRosterPage, fitEntries, rosterPageSize } from '../../runtime/wire/roster.ts';
import { decodeBody, encodeBody } from '../../runtime/wire/body.ts';
import { memberSize } from '../../runtime/wire/member.ts';
import type { Member, RosterPage } from '../../runtime/wire/types.ts';
import { member } from './arb.ts';

/** The largest entry: a 254-byte email (with multi-byte characters) and an IPv6 address. */
function maxMember(i: number): Member {
  const tag = `${i}😀é@`;
  const email = tag + 'x'.repeat(254 - new TextEncoder().encode(tag).length);
  return {
    email,
    address: { family: 6, host: 'fe80:1234:5678:9abc:def0:1234:5678:9abc', port: 65535 },
    peerKey: new Uint8Array(32).fill(i & 0xff),
  };
}

function pages(all: Member[], maxBytes?: number): RosterPage[] {
  const out: RosterPage[] = [];
  let from = 0;
  for (;;) {
    const page = buildRosterPage({ request: 7, epoch: 1, version: 2, members: all.slice(from), ...(maxBytes ? { maxBytes } : {}) })._unsafeUnwrap();
    out.push(page);
    from += page.entries.length;
    if (!page.more) return out;
    expect(page.next).toBe(page.entries.at(-1)?.email);
  }
}

describe('roster paging', () => {
  it('packs max-size entries into pages of at most 1170 bytes (1200 sealed)', () => {
    const all = Array.from({ length: 40 }, (_, i) => maxMember(i));
    expect(memberSize(all[0] as Member)).toBe(1 + 254 + 19 + 32);
    const ps = pages(all);
    for (const p of ps) {
      const { code, bytes } = encodeBody(p)._unsafeUnwrap();
      expect(code).toBe(Type.ROSTER_PAGE);
      expect(bytes.length).toBeLessThanOrEqual(MAX_SESSION_BODY);
      expect(bytes.length + SESSION_OVERHEAD).toBeLessThanOrEqual(MAX_DATAGRAM);
      expect(bytes.length).toBe(rosterPageSize(p.next, p.entries));
      expect(decodeBody(code, bytes)._unsafeUnwrap()).toEqual(p);
    }
    // With the email as cursor, 14 + 254 + 3 × 306 = 1186 > 1170: pages with more hold 2 entries;
    // the last page carries no cursor and holds up to 3 (14 + 3 × 306 = 932).
    expect(ps.slice(0, -1).every((p) => p.entries.length === 2)).toBe(true);
    expect(ps.at(-1)?.entries.length).toBeLessThanOrEqual(3);
    // A short cursor lets three of the largest entries share a page.
    const short = buildRosterPage({ request: 1, epoch: 1, version: 1, members: all, cursorOf: (m) => String(all.indexOf(m)) })._unsafeUnwrap();
    expect(short.entries.length).toBe(3);
    expect(encodeBody(short)._unsafeUnwrap().bytes.length).toBeLessThanOrEqual(MAX_SESSION_BODY);
    expect(ps.flatMap((p) => p.entries)).toEqual(all);
    expect(ps.at(-1)?.more).toBe(false);
    expect(ps.at(-1)?.next).toBe('');
  });

  it('pages any roster completely, each page fitting and as full as possible', () => {
    fc.assert(
      fc.property(fc.array(member, { maxLength: 40 }), fc.integer({ min: 700, max: MAX_SESSION_BODY }), (all, maxBytes) => {
        const ps = pages(all, maxBytes);
        expect(ps.flatMap((p) => p.entries)).toEqual(all);
        ps.forEach((p, i) => {
          const size = encodeBody(p)._unsafeUnwrap().bytes.length;
          expect(size).toBeLessThanOrEqual(maxBytes);
          const taken = ps.slice(0, i + 1).reduce((n, q) => n + q.entries.length, 0);
          const following = all[taken];
          expect(p.more).toBe(following !== undefined);
          if (following) {
            // one more entry would not have fit, counting its cursor unless it is the very last
            const cursor = taken + 1 < all.length ? following.email : '';
            expect(rosterPageSize(cursor, [...p.entries, following])).toBeGreaterThan(maxBytes);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('returns an empty final page for an empty roster and fails when nothing fits', () => {
    const empty = buildRosterPage({ request: 1, epoch: 2, version: 3, members: [] })._unsafeUnwrap();
    expect(empty).toEqual({ type: 'ROSTER_PAGE', request: 1, epoch: 2, version: 3, more: false, next: '', entries: [] });
    expect(encodeBody(empty)._unsafeUnwrap().bytes.length).toBe(14);
    expect(buildRosterPage({ request: 1, epoch: 2, version: 3, members: [maxMember(1)], maxBytes: 100 })._unsafeUnwrapErr().reason).toBe(
      'oversize',
    );
    expect(
      buildRosterPage({ request: 1, epoch: 2, version: 3, members: [maxMember(1), maxMember(2)], cursorOf: () => 'c'.repeat(256) })._unsafeUnwrapErr()
        .reason,
    ).toBe('field');
  });

  it('uses a custom cursor', () => {
    const all = Array.from({ length: 10 }, (_, i) => maxMember(i));
    const p = buildRosterPage({ request: 1, epoch: 2, version: 3, members: all, cursorOf: (m) => `#${all.indexOf(m)}` })._unsafeUnwrap();
    expect(p.more).toBe(true);
    expect(p.next).toBe(`#${p.entries.length - 1}`);
  });

  it('fitEntries takes entries while they fit', () => {
    fc.assert(
      fc.property(fc.array(member, { maxLength: 20 }), fc.integer({ min: 0, max: 3000 }), (all, max) => {
        const { entries, bytes, more } = fitEntries(all, max);
        expect(bytes).toBe(entries.reduce((n, m) => n + memberSize(m), 0));
        expect(bytes).toBeLessThanOrEqual(max);
        expect(entries).toEqual(all.slice(0, entries.length));
        expect(more).toBe(entries.length < all.length);
        if (more) expect(bytes + memberSize(all[entries.length] as Member)).toBeGreaterThan(max);
      }),
      { numRuns: 500 },
    );
  });
});
