/**
 * The online list survives a server restart: an append-only journal of presence changes next to
 * the database, replayed at start (PROTOCOL.md §6, "restarts").
 *
 * Why: after a restart every client resumes with its ticket. With a new epoch each of N clients
 * would page the whole roster again — N × N entries, 10 000 clients × 500 pages — and every open
 * conversation would flicker Disconnected/Connected. With the list, epoch and version restored,
 * a resuming client's roster is still current: its first TRUCO says so, and nothing is paged.
 *
 * Consistency: every change is written (write(2), no fsync) in the same turn of the event loop
 * that makes it, before any TRUCO or ROSTER_PAGE can reveal the new version, so a killed
 * process (kill -9, a crash) never leaves a client holding a version the journal lacks. A power
 * loss can lose unsynced writes: the journal records the kernel's boot id, and after a reboot it
 * is not trusted (a new epoch; every client resyncs, as before). Neither is one older than
 * `maxAgeMs` (default 30 s, the clients' reconnect give-up): those clients are gone.
 *
 * Format: JSON lines. A header `{"h":1,"epoch","boot","v"}`, then the members at version v
 * (`{"m":[email, family, host, port, key]}`), then changes in order, each taking the list to the
 * next version (`{"j"|"u":[…member]}`, `{"l":email}`), and session ids (`{"s":[email, sid]}`,
 * which let the restarted server nudge each client with a STALE). The file is rewritten
 * (snapshot, then rename) when the changes outgrow the list.
 */
import { closeSync, existsSync, fstatSync, futimesSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import type { PresenceLog } from '../machines/presence.ts';
import { turnBuffer } from '../runtime/turn-buffer.ts';
import type { Address, Delta, Member } from '../runtime/wire/types.ts';

export interface Restored {
  epoch: number;
  version: number;
  members: Map<string, Member>;
  /** the session id each member had, when known */
  sids: Map<string, number>;
  /** how long the journal had not been touched (the server's downtime, roughly) */
  ageMs: number;
}

export interface PresenceJournal {
  /** what the previous run left, when it can be trusted */
  readonly restored: Restored | null;
  /** the epoch to run with: the restored one, or a fresh random one */
  readonly epoch: number;
  /** writes the changes up to `p.version` (call on every change, before anything shows it) */
  record(p: PresenceLog): void;
  /** remembers an online user's session id */
  session(email: string, sid: number): void;
  /** marks the journal as alive (its mtime is the server's last sign of life) */
  touch(): void;
  close(): void;
}

export interface JournalOptions {
  now?: () => number;
  maxAgeMs?: number;
  /** the kernel's boot id, or null when unknown (then nothing is restored) */
  bootId?: string | null;
}

function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

type MemberRow = [string, number, string, number, string];
const row = (m: Member): MemberRow => [m.email, m.address.family, m.address.host, m.address.port, Buffer.from(m.peerKey).toString('base64')];
function member(r: unknown): Member | null {
  if (!Array.isArray(r) || r.length !== 5) return null;
  const [email, family, host, port, key] = r as unknown[];
  if (typeof email !== 'string' || (family !== 4 && family !== 6) || typeof host !== 'string' || typeof port !== 'number' || typeof key !== 'string') return null;
  const peerKey = Buffer.from(key, 'base64');
  if (peerKey.length !== 32) return null;
  const address: Address = { family, host, port };
  return { email, address, peerKey: Uint8Array.from(peerKey) };
}

const deltaLine = (d: Delta): string =>
  d.kind === 'leave' ? JSON.stringify({ l: d.email }) : JSON.stringify({ [d.kind === 'join' ? 'j' : 'u']: row(d.member) });

/** Replays a journal's text; null when it is not a complete, consistent journal of this boot. */
export function replay(text: string, bootId: string): Omit<Restored, 'ageMs'> | null {
  const lines = text.split('\n');
  let header: { epoch: number; v: number; boot: string } | null = null;
  const members = new Map<string, Member>();
  const sids = new Map<string, number>();
  let version = 0;
  for (const line of lines) {
    if (line === '') continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // a line cut short by the crash can only be the last one: stop there
      break;
    }
    if (header === null) {
      if (rec.h !== 1 || typeof rec.epoch !== 'number' || typeof rec.v !== 'number' || typeof rec.boot !== 'string') return null;
      header = { epoch: rec.epoch, v: rec.v, boot: rec.boot };
      if (header.boot !== bootId) return null;
      version = header.v;
      continue;
    }
    if ('m' in rec) {
      const m = member(rec.m);
      if (!m) return null;
      members.set(m.email, m);
    } else if ('j' in rec || 'u' in rec) {
      const m = member(rec.j ?? rec.u);
      if (!m) return null;
      members.set(m.email, m);
      version++;
    } else if ('l' in rec) {
      if (typeof rec.l !== 'string') return null;
      members.delete(rec.l);
      sids.delete(rec.l);
      version++;
    } else if ('s' in rec) {
      const s = rec.s;
      if (Array.isArray(s) && typeof s[0] === 'string' && typeof s[1] === 'number') sids.set(s[0], s[1]);
    } else return null;
  }
  if (header === null) return null;
  for (const email of sids.keys()) if (!members.has(email)) sids.delete(email);
  return { epoch: header.epoch, version, members, sids };
}

export function openPresenceJournal(file: string, opts: JournalOptions = {}): PresenceJournal {
  const now = opts.now ?? Date.now;
  const maxAgeMs = opts.maxAgeMs ?? 30_000;
  const bootId = opts.bootId === undefined ? readBootId() : opts.bootId;

  let restored: Restored | null = null;
  if (bootId !== null && existsSync(file)) {
    try {
      const ageMs = Math.max(0, now() - statSync(file).mtimeMs);
      if (ageMs <= maxAgeMs) {
        const r = replay(readFileSync(file, 'utf8'), bootId);
        if (r) restored = { ...r, ageMs };
      }
    } catch {
      restored = null;
    }
  }
  const epoch = restored?.epoch ?? randomInt(0, 0xffffffff);
  const sids = new Map<string, number>(restored?.sids ?? []);

  /** version the journal holds; changes after it are written by record() */
  let written = restored?.version ?? 0;
  let changes = 0;
  let fd: number | null = null;

  /** Writes the whole list at `version` to a fresh file, then takes its place. */
  // Session ids are written with the next change or at the end of the turn, not one write(2)
  // each: a restart storm opens a thousand sessions a second. They only steer the nudges after a
  // restart; a kill loses at most one turn's worth, and those clients resume on their own.
  const pendingSessions = turnBuffer((text) => append(text));

  function snapshot(version: number, members: Iterable<Member>): void {
    pendingSessions.take(); // the snapshot has every session id
    const tmp = file + '.tmp';
    const lines = [JSON.stringify({ h: 1, epoch, boot: bootId ?? '', v: version })];
    for (const m of members) lines.push(JSON.stringify({ m: row(m) }));
    for (const [email, sid] of sids) lines.push(JSON.stringify({ s: [email, sid] }));
    writeFileSync(tmp, lines.join('\n') + '\n', { mode: 0o600 });
    if (fd !== null) closeSync(fd);
    renameSync(tmp, file);
    fd = openSync(file, 'a', 0o600);
    written = version;
    changes = 0;
  }

  snapshot(restored?.version ?? 0, restored?.members.values() ?? []);

  function append(text: string): void {
    if (fd === null) return;
    try {
      writeSync(fd, text);
    } catch {
      // a full disk must not stop the server: the next restart starts a new epoch instead
      closeSync(fd);
      fd = null;
    }
  }

  return {
    restored,
    epoch,
    record(p) {
      if (p.version === written) return;
      const from = written - p.logStart;
      if (p.version < written || from < 0 || p.version - written > p.log.length - from) {
        // the log no longer reaches back to what was written: write the whole list
        snapshot(p.version, p.members.values());
        return;
      }
      let text = pendingSessions.take();
      for (let i = from; i < p.log.length; i++) {
        const d = p.log.at(i) as Delta;
        if (d.kind === 'leave') sids.delete(d.email);
        text += deltaLine(d) + '\n';
      }
      append(text);
      changes += p.version - written;
      written = p.version;
      if (changes > Math.max(4096, 2 * p.members.size)) snapshot(p.version, p.members.values());
    },
    session(email, sid) {
      sids.set(email, sid);
      pendingSessions.add(JSON.stringify({ s: [email, sid] }) + '\n');
      changes++;
    },
    touch() {
      if (fd === null) return;
      try {
        const t = new Date(now());
        futimesSync(fd, t, t);
      } catch {
        /* best effort */
      }
    },
    close() {
      pendingSessions.flush();
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/** For tests: the file's size (the journal must stay bounded). */
export function journalSize(file: string): number {
  const fd = openSync(file, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}
