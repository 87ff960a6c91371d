import { appendFileSync, mkdtempSync, readFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyJoin, applyLeave, applyMove, emptyPresence, restoredPresence, type PresenceLog } from '../../machines/presence.ts';
import { journalSize, openPresenceJournal } from '../../server/presence-journal.ts';
import type { Member } from '../../runtime/wire/types.ts';

const m = (email: string, port: number): Member => ({ email, address: { family: 4, host: '10.0.0.7', port }, peerKey: new Uint8Array(32).fill(port & 0xff) });
const file = () => join(mkdtempSync(join(tmpdir(), 'truco-journal-')), 'presence.journal');

describe('presence journal (server/presence-journal.ts)', () => {
  it('a restart of the same boot takes up epoch, version, members and session ids', () => {
    const f = file();
    const j = openPresenceJournal(f, { bootId: 'boot-1' });
    expect(j.restored).toBeNull();
    let p: PresenceLog = emptyPresence(j.epoch);
    for (const [e, port] of [['a@x', 1], ['b@x', 2], ['c@x', 3]] as const) {
      p = applyJoin(p, m(e, port));
      j.record(p);
      j.session(e, port * 100);
    }
    p = applyLeave(p, 'b@x');
    j.record(p);
    p = applyMove(p, 'c@x', { family: 4, host: '10.0.0.8', port: 9 });
    j.record(p);
    j.close();

    const again = openPresenceJournal(f, { bootId: 'boot-1' });
    expect(again.epoch).toBe(j.epoch);
    expect(again.restored).toMatchObject({ epoch: j.epoch, version: p.version });
    expect([...(again.restored?.members.keys() ?? [])].sort()).toEqual(['a@x', 'c@x']);
    expect(again.restored?.members.get('c@x')?.address).toEqual({ family: 4, host: '10.0.0.8', port: 9 });
    expect(Buffer.from(again.restored?.members.get('a@x')?.peerKey ?? []).equals(Buffer.from(m('a@x', 1).peerKey))).toBe(true);
    expect(Object.fromEntries(again.restored?.sids ?? [])).toEqual({ 'a@x': 100, 'c@x': 300 });

    // and it goes on from there: a third run sees what the second recorded
    let q = restoredPresence(again.epoch, again.restored?.version ?? 0, again.restored?.members.values() ?? []);
    q = applyJoin(q, m('d@x', 4));
    again.record(q);
    again.close();
    const third = openPresenceJournal(f, { bootId: 'boot-1' });
    expect(third.restored?.version).toBe(q.version);
    expect([...(third.restored?.members.keys() ?? [])].sort()).toEqual(['a@x', 'c@x', 'd@x']);
    third.close();
  });

  it('writes session ids at the end of the turn (or with the next change), so a kill after it keeps them', async () => {
    const f = file();
    const j = openPresenceJournal(f, { bootId: 'boot-1' });
    let p: PresenceLog = emptyPresence(j.epoch);
    p = applyJoin(p, m('a@x', 1));
    j.session('a@x', 7);
    j.record(p); // the pending id goes out with the change, before it
    expect(readFileSync(f, 'utf8')).toMatch(/\{"s":\["a@x",7\]\}\n\{"j"/);
    p = applyJoin(p, m('b@x', 2));
    j.record(p);
    j.session('b@x', 8);
    expect(readFileSync(f, 'utf8')).not.toContain('"b@x",8');
    await new Promise((r) => setImmediate(r));
    expect(readFileSync(f, 'utf8')).toContain('{"s":["b@x",8]}');
    // no close: as after a SIGKILL
    const again = openPresenceJournal(f, { bootId: 'boot-1' });
    expect(Object.fromEntries(again.restored?.sids ?? [])).toEqual({ 'a@x': 7, 'b@x': 8 });
    again.close();
    j.close();
  });

  it('trusts nothing after a reboot, from an unknown boot, or when older than the clients wait', () => {
    const f = file();
    const j = openPresenceJournal(f, { bootId: 'boot-1' });
    j.record(applyJoin(emptyPresence(j.epoch), m('a@x', 1)));
    j.close();
    const rebooted = openPresenceJournal(f, { bootId: 'boot-2' });
    expect(rebooted.restored).toBeNull();
    expect(rebooted.epoch).not.toBe(j.epoch); // (random: equal once in 2^32)
    rebooted.record(applyJoin(emptyPresence(rebooted.epoch), m('a@x', 1)));
    rebooted.close();
    expect(openPresenceJournal(f, { bootId: null }).restored).toBeNull();
    const old = new Date(Date.now() - 60_000);
    utimesSync(f, old, old);
    expect(openPresenceJournal(f, { bootId: 'boot-2' }).restored).toBeNull();
  });

  it('a line cut short by a crash ends the replay there; garbage before it refuses the file', () => {
    const f = file();
    const j = openPresenceJournal(f, { bootId: 'b' });
    const p = applyJoin(applyJoin(emptyPresence(j.epoch), m('a@x', 1)), m('b@x', 2));
    j.record(p);
    j.close();
    appendFileSync(f, '{"j":["c@x",4,"10.0');
    expect(openPresenceJournal(f, { bootId: 'b' }).restored?.version).toBe(2);
    const g = file();
    const k = openPresenceJournal(g, { bootId: 'b' });
    k.record(p);
    k.close();
    appendFileSync(g, '{"what":1}\n');
    expect(openPresenceJournal(g, { bootId: 'b' }).restored).toBeNull();
  });

  it('stays bounded: churn rewrites it as a snapshot', () => {
    const f = file();
    const j = openPresenceJournal(f, { bootId: 'b' });
    let p = emptyPresence(j.epoch);
    for (let i = 0; i < 20_000; i++) {
      p = i % 2 === 0 ? applyJoin(p, m('churn@x', 1 + (i % 7))) : applyLeave(p, 'churn@x');
      j.record(p);
    }
    expect(journalSize(f)).toBeLessThan(500_000);
    j.close();
    expect(openPresenceJournal(f, { bootId: 'b' }).restored?.version).toBe(20_000);
    expect(readFileSync(f, 'utf8').startsWith('{"h":1')).toBe(true);
  });
});
