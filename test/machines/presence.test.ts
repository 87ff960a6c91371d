import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyJoin,
  applyLeave,
  applyMove,
  cancelSync,
  deltaSize,
  deltasSince,
  emptyPresence,
  emptyRoster,
  LOG_CAPACITY,
  onPage,
  onTruco,
  pageEffect,
  rosterVersionForSeis,
  startSync,
  trucoNeedsSync,
  UNKNOWN_VERSION,
  utf8Length,
  type PresenceLog,
  type Roster,
  PersistentMap,
} from '../../machines/presence.ts';
import { addr, member, pageOf, snapshotOf, truco } from './fixtures.ts';

function serverWith(...emails: string[]): PresenceLog {
  return emails.reduce((p, e, i) => applyJoin(p, member(e, 4000 + i)), emptyPresence(7));
}

/** A client roster in sync with `p`. */
function rosterOf(p: PresenceLog): Roster {
  return { epoch: p.epoch, version: p.version, members: new Map(p.members), sync: null };
}

describe('sizes', () => {
  it('counts UTF-8 bytes like TextEncoder', () => {
    for (const s of ['', 'a@b', 'josé@exemplo.pt', '日本@x', '😀@x', '\ud800x']) {
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
    }
  });

  it('sizes deltas as the wire encodes them', () => {
    expect(deltaSize({ kind: 'leave', email: 'a@b' })).toBe(1 + 1 + 3);
    expect(deltaSize({ kind: 'join', member: member('a@b') })).toBe(1 + 1 + 3 + (1 + 4 + 2) + 32);
    expect(deltaSize({ kind: 'update', member: member('a@b', 1, 1, 'fe80::1') })).toBe(1 + 1 + 3 + (1 + 16 + 2) + 32);
    expect(deltaSize({ kind: 'leave', email: 'é@b' })).toBe(1 + 1 + 4);
  });
});

describe('server presence log', () => {
  it('starts empty at version 0', () => {
    const p = emptyPresence(42);
    expect(p).toMatchObject({ epoch: 42, version: 0, logStart: 0, log: expect.objectContaining({ length: 0 }) });
    expect(p.members.size).toBe(0);
  });

  it('records a JOIN for a new email, an UPDATE for a changed one, nothing for an identical one', () => {
    const p1 = applyJoin(emptyPresence(1), member('a@x', 1000, 1));
    expect(p1.version).toBe(1);
    expect(p1.log.toArray()).toEqual([{ kind: 'join', member: member('a@x', 1000, 1) }]);

    const same = applyJoin(p1, member('a@x', 1000, 1));
    expect(same).toBe(p1);

    const moved = applyJoin(p1, member('a@x', 2000, 1));
    expect(moved.version).toBe(2);
    expect(moved.log.at(1)).toEqual({ kind: 'update', member: member('a@x', 2000, 1) });

    const rekeyed = applyJoin(moved, member('a@x', 2000, 9));
    expect(rekeyed.version).toBe(3);
    expect(rekeyed.log.at(2)?.kind).toBe('update');
    expect(rekeyed.members.get('a@x')?.peerKey[0]).toBe(9);
  });

  it('records a LEAVE only for an online email', () => {
    const p = serverWith('a@x', 'b@x');
    const left = applyLeave(p, 'a@x');
    expect(left.version).toBe(3);
    expect(left.log.at(2)).toEqual({ kind: 'leave', email: 'a@x' });
    expect([...left.members.keys()]).toEqual(['b@x']);
    expect(applyLeave(left, 'a@x')).toBe(left);
    expect(applyLeave(left, 'nobody@x')).toBe(left);
  });

  it('moves an online user with an UPDATE and ignores unknown ones', () => {
    const p = serverWith('a@x');
    const moved = applyMove(p, 'a@x', addr(5555, '10.9.9.9'));
    expect(moved.version).toBe(2);
    expect(moved.log.at(1)).toMatchObject({ kind: 'update', member: { email: 'a@x', address: addr(5555, '10.9.9.9') } });
    expect(applyMove(moved, 'a@x', addr(5555, '10.9.9.9'))).toBe(moved);
    expect(applyMove(p, 'b@x', addr(1))).toBe(p);
  });

  it('never mutates its inputs', () => {
    const p = serverWith('a@x');
    const members = p.members;
    const log = p.log;
    applyJoin(p, member('b@x'));
    applyLeave(p, 'a@x');
    applyMove(p, 'a@x', addr(9));
    expect(p.version).toBe(1);
    expect(members.size).toBe(1);
    expect(log).toHaveLength(1);
    expect(p.members).toBe(members);
  });

  it('keeps at most LOG_CAPACITY deltas and moves logStart', () => {
    let p = emptyPresence(1);
    for (let i = 0; i < LOG_CAPACITY + 5; i++) p = applyJoin(p, member(`u${i}@x`));
    expect(p.version).toBe(LOG_CAPACITY + 5);
    expect(p.log).toHaveLength(LOG_CAPACITY);
    expect(p.logStart).toBe(5);
    // log[0] took the list from logStart to logStart + 1: the join of u5
    expect(p.log.at(0)).toMatchObject({ kind: 'join', member: { email: 'u5@x' } });
    expect(deltasSince(p, 4, 10_000).resync).toBe(true);
    const w = deltasSince(p, 5, 10_000);
    expect(w.resync).toBe(false);
    expect(w.deltas[0]).toMatchObject({ member: { email: 'u5@x' } });
  });
});

describe('deltasSince', () => {
  const p = serverWith('a@x', 'b@x', 'c@x', 'd@x'); // version 4, each join 44 bytes
  const one = deltaSize({ kind: 'join', member: member('a@x') });

  it('returns the window from base to the current version', () => {
    const w = deltasSince(p, 1, 1170);
    expect(w).toMatchObject({ base: 1, version: 4, resync: false });
    expect(w.deltas.map((d) => (d.kind === 'leave' ? d.email : d.member.email))).toEqual(['b@x', 'c@x', 'd@x']);
  });

  it('returns no deltas when the client is current', () => {
    expect(deltasSince(p, 4, 1170)).toEqual({ base: 4, version: 4, deltas: [], resync: false });
  });

  it('stops at the byte budget and keeps version = base + deltas.length', () => {
    const w = deltasSince(p, 0, one * 2 + one - 1);
    expect(w.deltas).toHaveLength(2);
    expect(w.version).toBe(2);
    expect(deltasSince(p, 0, one * 4).version).toBe(4);
    const none = deltasSince(p, 0, one - 1);
    expect(none).toMatchObject({ version: 0, deltas: [], resync: false });
  });

  it('asks for a resync when base is unknown, older than the log or ahead of the list', () => {
    expect(deltasSince(p, -1, 1170)).toEqual({ base: -1, version: 4, deltas: [], resync: true });
    expect(deltasSince(p, 5, 1170)).toMatchObject({ version: 4, deltas: [], resync: true });
    expect(deltasSince(p, UNKNOWN_VERSION, 1170).resync).toBe(true);
  });

  it('satisfies version === base + deltas.length for any base and budget', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2, max: 6 }), fc.integer({ min: 0, max: 400 }), (base, budget) => {
        const w = deltasSince(p, base, budget);
        if (w.resync) return w.deltas.length === 0 && w.version === p.version;
        const bytes = w.deltas.reduce((n, d) => n + deltaSize(d), 0);
        return w.version === base + w.deltas.length && bytes <= budget && w.version <= p.version;
      }),
    );
  });
});

describe('client roster: onTruco', () => {
  const p = serverWith('a@x', 'b@x');

  it('needs a sync when the version is unknown', () => {
    const r = emptyRoster();
    const res = onTruco(r, truco({ epoch: 7, version: 2, base: 0, resync: true }));
    expect(res).toEqual({ roster: r, needSync: true });
  });

  it('needs a sync on another epoch, the resync flag or a gap', () => {
    const r = rosterOf(p);
    expect(onTruco(r, truco({ epoch: 8, version: 2, base: 2 })).needSync).toBe(true);
    expect(onTruco(r, truco({ epoch: 7, version: 5, base: 5, resync: true })).needSync).toBe(true);
    const gap = truco({ epoch: 7, version: 4, base: 3, deltas: [{ kind: 'leave', email: 'a@x' }] });
    expect(onTruco(r, gap)).toEqual({ roster: r, needSync: true });
  });

  it('needs a sync when the deltas do not match the versions', () => {
    const r = rosterOf(p);
    expect(onTruco(r, truco({ epoch: 7, version: 4, base: 2, deltas: [{ kind: 'leave', email: 'a@x' }] })).needSync).toBe(true);
  });

  it('leaves the roster alone when already at or past the truco version, even with resync set', () => {
    const r = rosterOf(p);
    expect(onTruco(r, truco({ epoch: 7, version: 2, base: 2 }))).toEqual({ roster: r, needSync: false });
    expect(onTruco(r, truco({ epoch: 7, version: 2, base: 0, resync: true }))).toEqual({ roster: r, needSync: false });
    expect(onTruco(r, truco({ epoch: 7, version: 1, base: 1 }))).toEqual({ roster: r, needSync: false });
  });

  it('applies only the deltas it lacks, in order', () => {
    const r = rosterOf(p);
    const p2 = applyLeave(applyJoin(applyJoin(p, member('c@x', 9)), member('a@x', 7777)), 'b@x');
    // the truco starts one version earlier than the client: the first delta is skipped
    const w = deltasSince(p2, 1, 1170);
    const res = onTruco(r, truco({ epoch: 7, version: w.version, base: w.base, deltas: w.deltas }));
    expect(res.needSync).toBe(false);
    expect(res.roster.version).toBe(5);
    expect(snapshotOf(res.roster.members)).toEqual(snapshotOf(p2.members));
    expect(r.members.size).toBe(2); // input untouched
  });

  it('ignores trucos while a sync runs', () => {
    const r = startSync(emptyRoster(), 3);
    const t = truco({ epoch: 7, version: 9, base: 0, resync: true });
    expect(onTruco(r, t)).toEqual({ roster: r, needSync: false });
    expect(trucoNeedsSync(r, t)).toBe(false);
  });
});

describe('client roster: paging', () => {
  it('collects pages, keeps the first page version and completes on the last page', () => {
    const p = serverWith('a@x', 'b@x', 'c@x');
    let r = startSync(emptyRoster(), 10);
    expect(r.sync).toMatchObject({ request: 10, cursor: '', pageVersion: null });

    const first = onPage(r, pageOf(p, 10, '', 2));
    expect(first.next).toEqual({ request: 11, cursor: 'b@x' });
    r = first.roster;
    expect(r.sync).toMatchObject({ request: 11, cursor: 'b@x', pageVersion: 3, pageEpoch: 7 });
    expect(r.members.size).toBe(0); // not visible before the sync completes

    const p2 = applyJoin(p, member('d@x'));
    const last = onPage(r, pageOf(p2, 11, 'b@x', 5));
    expect(last.next).toBeNull();
    expect(last.roster).toMatchObject({ epoch: 7, version: 3, sync: null });
    expect(snapshotOf(last.roster.members)).toEqual(snapshotOf(p2.members));
  });

  it('ignores pages for another request and duplicates of earlier pages', () => {
    const p = serverWith('a@x', 'b@x', 'c@x');
    const r0 = startSync(emptyRoster(), 1);
    const wrong = pageOf(p, 2, '', 1);
    expect(pageEffect(r0, wrong)).toBe('ignored');
    expect(onPage(r0, wrong)).toEqual({ roster: r0, next: null });

    const page1 = pageOf(p, 1, '', 1);
    const r1 = onPage(r0, page1).roster;
    expect(onPage(r1, page1)).toEqual({ roster: r1, next: null });
    expect(onPage(emptyRoster(), page1).roster.sync).toBeNull();
  });

  it('restarts the sync when the epoch changes between pages', () => {
    const p = serverWith('a@x', 'b@x');
    const r1 = onPage(startSync(emptyRoster(), 0), pageOf(p, 0, '', 1)).roster;
    const restarted = { ...pageOf(serverWith('z@x'), 1, 'a@x', 1), epoch: 99 };
    expect(pageEffect(r1, restarted)).toBe('next');
    const res = onPage(r1, restarted);
    expect(res.next).toEqual({ request: 2, cursor: '' });
    expect(res.roster.sync).toMatchObject({ pageEpoch: null, pageVersion: null, cursor: '' });
    expect(res.roster.sync?.collected.size).toBe(0);
  });

  it('wraps request ids at 2^16', () => {
    const r = startSync(emptyRoster(), 0xffff);
    const p = serverWith('a@x', 'b@x');
    expect(onPage(r, pageOf(p, 0xffff, '', 1)).next?.request).toBe(0);
  });

  it('cancelSync drops the sync and keeps the members', () => {
    const p = serverWith('a@x');
    const r = startSync(rosterOf(p), 4);
    const c = cancelSync(r);
    expect(c.sync).toBeNull();
    expect(c.members).toBe(r.members);
    expect(cancelSync(c)).toBe(c);
  });

  it('acknowledges the unknown version as UNKNOWN_VERSION and the first page version during a sync', () => {
    expect(rosterVersionForSeis(emptyRoster())).toEqual({ epoch: 0, version: UNKNOWN_VERSION });
    const p = serverWith('a@x', 'b@x');
    const syncing = startSync(rosterOf(p), 0);
    expect(rosterVersionForSeis(syncing)).toEqual({ epoch: 7, version: 2 });
    const p2 = applyJoin(p, member('c@x'));
    const mid = onPage(startSync(emptyRoster(), 0), pageOf(p2, 0, '', 1)).roster;
    expect(rosterVersionForSeis(mid)).toEqual({ epoch: 7, version: 3 });
  });
});

describe('convergence (property)', () => {
  type Op =
    | { op: 'join'; who: number; port: number; keyByte: number }
    | { op: 'leave'; who: number }
    | { op: 'move'; who: number; port: number }
    | { op: 'restart' }
    | { op: 'page'; size: number; lost: boolean }
    | { op: 'truco'; budget: number; lostTruco: boolean; lostSeis: boolean };

  const who = fc.integer({ min: 0, max: 9 });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    // pages are frequent so that syncs interleave with churn
    fc.record({ op: fc.constant('join' as const), who, port: fc.integer({ min: 1, max: 5 }), keyByte: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ op: fc.constant('leave' as const), who }),
    fc.record({ op: fc.constant('move' as const), who, port: fc.integer({ min: 1, max: 5 }) }),
    fc.constant({ op: 'restart' as const }),
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant('page' as const), size: fc.integer({ min: 1, max: 3 }), lost: fc.boolean() }),
    },
    fc.record({
      op: fc.constant('truco' as const),
      budget: fc.integer({ min: 70, max: 400 }),
      lostTruco: fc.boolean(),
      lostSeis: fc.boolean(),
    }),
  );

  it('a client that pages while the list churns ends with exactly the server members', () => {
    fc.assert(
      fc.property(fc.uniqueArray(who, { maxLength: 10 }), fc.array(opArb, { maxLength: 80 }), (initial, ops) => {
        const email = (i: number): string => `user${i}@lan`;
        let p = initial.reduce((acc, i) => applyJoin(acc, member(email(i), 1, 0)), emptyPresence(7));
        let r = startSync(emptyRoster(), 0);
        let nextRequest = 1;
        let acked: { epoch: number; version: number } = { epoch: 0, version: UNKNOWN_VERSION };
        let probe = 0;

        const servePage = (size: number): void => {
          if (r.sync === null) return;
          const res = onPage(r, pageOf(p, r.sync.request, r.sync.cursor, size));
          r = res.roster;
          if (res.next) nextRequest = (res.next.request + 1) & 0xffff;
        };
        const serveTruco = (budget: number, lostTruco: boolean, lostSeis: boolean): void => {
          const base = acked.epoch === p.epoch ? acked.version : -1;
          const w = deltasSince(p, base, budget);
          if (lostTruco) return;
          const res = onTruco(r, { type: 'TRUCO', probe: probe++, epoch: p.epoch, ...w });
          r = res.roster;
          if (res.needSync) {
            r = startSync(r, nextRequest);
            nextRequest = (nextRequest + 1) & 0xffff;
          }
          if (!lostSeis) acked = rosterVersionForSeis(r);
        };

        for (const o of ops) {
          if (o.op === 'join') p = applyJoin(p, member(email(o.who), o.port, o.keyByte));
          else if (o.op === 'leave') p = applyLeave(p, email(o.who));
          else if (o.op === 'move') p = applyMove(p, email(o.who), addr(o.port, '10.1.1.1'));
          else if (o.op === 'restart') p = emptyPresence(p.epoch + 1);
          else if (o.op === 'page') {
            if (!o.lost) servePage(o.size);
          } else serveTruco(o.budget, o.lostTruco, o.lostSeis);
        }
        // the network heals and the list stops changing: pages and probes get through
        for (let i = 0; i < 200 && !(r.sync === null && r.epoch === p.epoch && r.version === p.version); i++) {
          servePage(3);
          serveTruco(400, false, false);
        }
        expect(r.sync).toBeNull();
        expect(r.epoch).toBe(p.epoch);
        expect(r.version).toBe(p.version);
        expect(snapshotOf(r.members)).toEqual(snapshotOf(p.members));
      }),
      { numRuns: 500 },
    );
  });
});

describe('PersistentMap', () => {
  it('behaves like a Map and never changes an earlier version', () => {
    const a = PersistentMap.empty<number>();
    const b = a.set('x', 1).set('y', 2);
    const c = b.set('x', 3).delete('y');
    expect(a.size).toBe(0);
    expect([b.get('x'), b.get('y'), b.size]).toEqual([1, 2, 2]);
    expect([c.get('x'), c.has('y'), c.size]).toEqual([3, false, 1]);
    expect(c.delete('nope')).toBe(c);
    expect(new Map(b)).toEqual(new Map([['x', 1], ['y', 2]]));
    expect([...b.keys()].sort()).toEqual(['x', 'y']);
    expect([...b.values()].sort()).toEqual([1, 2]);
    const seen: string[] = [];
    b.forEach((v, k, m) => seen.push(`${k}=${v}:${m === b}`));
    expect(seen.sort()).toEqual(['x=1:true', 'y=2:true']);
    expect(JSON.stringify(b)).toBe(JSON.stringify(Object.fromEntries(new Map(b))));
    expect(PersistentMap.from(b)).toBe(b);
    expect(PersistentMap.from(new Map([['k', 7]])).get('k')).toBe(7);
  });

  it('matches a Map under random sets and deletes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.string({ maxLength: 3 }), fc.integer())), (ops) => {
        let p = PersistentMap.empty<number>();
        const m = new Map<string, number>();
        const versions: Array<[PersistentMap<number>, Array<[string, number]>]> = [];
        for (const [del, k, v] of ops) {
          if (del) {
            p = p.delete(k);
            m.delete(k);
          } else {
            p = p.set(k, v);
            m.set(k, v);
          }
          versions.push([p, [...m].sort()]);
        }
        for (const [version, entries] of versions) expect([...version].sort()).toEqual(entries);
        expect(p.size).toBe(m.size);
      }),
    );
  });

  it('holds a join storm of 20 000 users with the log capped', () => {
    let p = emptyPresence(1);
    for (let i = 0; i < 20_000; i++) p = applyJoin(p, member(`u${i}@x`));
    expect(p.members.size).toBe(20_000);
    expect(p.members).toBeInstanceOf(PersistentMap);
    expect(p.log).toHaveLength(LOG_CAPACITY);
    expect(deltasSince(p, 20_000 - 3, 10_000).deltas).toHaveLength(3);
  });
});
