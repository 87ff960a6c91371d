/**
 * Pure presence helpers (no xstate, no I/O): the server's versioned online list with its delta
 * log, and the client's roster that follows it (runtime/PROTOCOL.md §6).
 *
 * Every function returns new values and never mutates its inputs, so the values can live in
 * machine context and be shown by the inspector. Member lists are PersistentMaps (below), so a
 * change costs a small copy rather than a copy of the whole list.
 */
import type { Address, Delta, Member, RosterPage, Truco } from '../runtime/wire/types.ts';

// ---- a copy-on-write map that copies little ------------------------------------------------

const BUCKETS = 1024;

function bucketOf(key: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) & (BUCKETS - 1);
}

/**
 * An immutable string-keyed map whose `set`/`delete` return a new map sharing all but one of
 * its 1024 buckets with the old one, so an update costs O(1024 + N/1024) instead of the O(N) of
 * copying a Map (copying an 8 000-entry Map takes ~1 ms; a join storm of N users would be
 * O(N^2)). Iteration order is by bucket, not by insertion.
 */
export class PersistentMap<V> implements ReadonlyMap<string, V> {
  readonly #buckets: ReadonlyArray<ReadonlyMap<string, V> | undefined>;
  readonly size: number;

  private constructor(buckets: ReadonlyArray<ReadonlyMap<string, V> | undefined>, size: number) {
    this.#buckets = buckets;
    this.size = size;
  }

  static readonly #EMPTY = new PersistentMap<never>(Object.freeze(new Array<undefined>(BUCKETS).fill(undefined)), 0);

  static empty<V>(): PersistentMap<V> {
    return PersistentMap.#EMPTY;
  }

  /** The map itself if it already is a PersistentMap, else a copy of it. */
  static from<V>(entries: ReadonlyMap<string, V> | Iterable<readonly [string, V]>): PersistentMap<V> {
    if (entries instanceof PersistentMap) return entries as PersistentMap<V>;
    const buckets: Array<Map<string, V> | undefined> = new Array<undefined>(BUCKETS).fill(undefined);
    let size = 0;
    for (const [k, v] of entries) {
      const i = bucketOf(k);
      const b = (buckets[i] ??= new Map());
      if (!b.has(k)) size++;
      b.set(k, v);
    }
    return new PersistentMap<V>(buckets, size);
  }

  get(key: string): V | undefined {
    return this.#buckets[bucketOf(key)]?.get(key);
  }

  has(key: string): boolean {
    return this.#buckets[bucketOf(key)]?.has(key) ?? false;
  }

  set(key: string, value: V): PersistentMap<V> {
    const i = bucketOf(key);
    const old = this.#buckets[i];
    const bucket = new Map(old);
    bucket.set(key, value);
    const buckets = this.#buckets.slice();
    buckets[i] = bucket;
    return new PersistentMap<V>(buckets, this.size + (old?.has(key) ? 0 : 1));
  }

  delete(key: string): PersistentMap<V> {
    const i = bucketOf(key);
    const old = this.#buckets[i];
    if (!old?.has(key)) return this;
    const buckets = this.#buckets.slice();
    if (old.size === 1) buckets[i] = undefined;
    else {
      const bucket = new Map(old);
      bucket.delete(key);
      buckets[i] = bucket;
    }
    return new PersistentMap<V>(buckets, this.size - 1);
  }

  *#walk(): Generator<[string, V], undefined, unknown> {
    for (const b of this.#buckets) if (b) yield* b;
    return undefined;
  }

  entries(): MapIterator<[string, V]> {
    return this.#walk() as MapIterator<[string, V]>;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  *#keys(): Generator<string, undefined, unknown> {
    for (const b of this.#buckets) if (b) yield* b.keys();
    return undefined;
  }

  keys(): MapIterator<string> {
    return this.#keys() as MapIterator<string>;
  }

  *#values(): Generator<V, undefined, unknown> {
    for (const b of this.#buckets) if (b) yield* b.values();
    return undefined;
  }

  values(): MapIterator<V> {
    return this.#values() as MapIterator<V>;
  }

  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const b of this.#buckets) if (b) for (const [k, v] of b) fn.call(thisArg, v, k, this);
  }

  get [Symbol.toStringTag](): string {
    return 'PersistentMap';
  }

  /** For the inspector and logs: the entries as a plain object. */
  toJSON(): Record<string, V> {
    return Object.fromEntries(this.#walk());
  }
}

// ---- an append-only log that copies little ---------------------------------------------------

const CHUNK = 64;

/**
 * An immutable, bounded log of deltas: `push` returns a new log sharing every full chunk of 64
 * with the old one, so an append copies at most ~130 references instead of the whole log (a
 * 4096-entry array copied on every join made a login storm spend most of its time in GC).
 */
export class DeltaLog implements Iterable<Delta> {
  static readonly EMPTY = new DeltaLog([], 0, 0);

  private constructor(
    private readonly chunks: ReadonlyArray<readonly Delta[]>,
    /** index of the first live entry in chunks[0] */
    private readonly head: number,
    readonly length: number,
  ) {}

  /** The i-th delta (negative i counts from the end), or undefined. */
  at(i: number): Delta | undefined {
    const k = i < 0 ? this.length + i : i;
    if (!Number.isInteger(k) || k < 0 || k >= this.length) return undefined;
    const j = this.head + k;
    return this.chunks[Math.floor(j / CHUNK)]?.[j % CHUNK];
  }

  /** A new log with `delta` appended, dropping the oldest entries beyond `capacity`. */
  push(delta: Delta, capacity: number): DeltaLog {
    const chunks = this.chunks.slice();
    const last = chunks[chunks.length - 1];
    if (last === undefined || last.length === CHUNK) chunks.push([delta]);
    else chunks[chunks.length - 1] = [...last, delta];
    let head = this.head;
    let length = this.length + 1;
    while (length > capacity) {
      head++;
      length--;
      if (head === CHUNK) {
        chunks.shift();
        head = 0;
      }
    }
    return new DeltaLog(chunks, head, length);
  }

  *[Symbol.iterator](): Iterator<Delta> {
    for (let i = 0; i < this.length; i++) yield this.at(i) as Delta;
  }

  toArray(): Delta[] {
    return [...this];
  }

  toJSON(): { length: number } {
    return { length: this.length };
  }
}

// ---- sizes -----------------------------------------------------------------------------------

/** How many deltas the server keeps; a client further behind than this resyncs by paging. */
export const LOG_CAPACITY = 4096;

/** UTF-8 byte length of a string, without allocating (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Encoded size of an address: family u8 | ip (4 or 16) | port u16. */
export function addressSize(a: Address): number {
  return 1 + (a.family === 4 ? 4 : 16) + 2;
}

/** Encoded size of one delta on the wire: kind u8 | email str8 [| address | peerKey bytes32]. */
export function deltaSize(d: Delta): number {
  if (d.kind === 'leave') return 1 + 1 + utf8Length(d.email);
  return 1 + 1 + utf8Length(d.member.email) + addressSize(d.member.address) + 32;
}

// ---- equality --------------------------------------------------------------------------------

export function sameAddress(a: Address, b: Address): boolean {
  return a.family === b.family && a.host === b.host && a.port === b.port;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function sameMember(a: Member, b: Member): boolean {
  return a.email === b.email && sameAddress(a.address, b.address) && sameBytes(a.peerKey, b.peerKey);
}

// ---- server side: the versioned online list --------------------------------------------------

export interface PresenceLog {
  /** random per server start */
  epoch: number;
  /** counts changes; every change bumps it by exactly 1 */
  version: number;
  members: ReadonlyMap<string, Member>;
  /** log.at(i) took the list to version logStart + i + 1 */
  log: DeltaLog;
  /** the oldest version the log can lead from */
  logStart: number;
}

export function emptyPresence(epoch: number): PresenceLog {
  return { epoch, version: 0, members: PersistentMap.empty(), log: DeltaLog.EMPTY, logStart: 0 };
}

/**
 * The online list a restarted server takes up again (server/presence-journal.ts): the same epoch
 * and version, no delta log, so a client that holds exactly `version` needs nothing and any other
 * resyncs.
 */
export function restoredPresence(epoch: number, version: number, members: Iterable<Member>): PresenceLog {
  const entries: Array<[string, Member]> = [];
  for (const m of members) entries.push([m.email, m]);
  return { epoch, version, members: PersistentMap.from(entries), log: DeltaLog.EMPTY, logStart: version };
}

function record(p: PresenceLog, members: ReadonlyMap<string, Member>, delta: Delta): PresenceLog {
  const log = p.log.push(delta, LOG_CAPACITY);
  return {
    epoch: p.epoch,
    version: p.version + 1,
    members,
    log,
    logStart: p.logStart + (p.log.length + 1 - log.length),
  };
}

/**
 * A user comes online (login, resume) or changes: a new email gives a JOIN, an existing email
 * with another address or key an UPDATE, an identical entry changes nothing.
 */
export function applyJoin(p: PresenceLog, member: Member): PresenceLog {
  const existing = p.members.get(member.email);
  if (existing && sameMember(existing, member)) return p;
  const members = PersistentMap.from(p.members).set(member.email, member);
  return record(p, members, existing ? { kind: 'update', member } : { kind: 'join', member });
}

/** The user's session moved to another address (roaming): an UPDATE, if online and different. */
export function applyMove(p: PresenceLog, email: string, address: Address): PresenceLog {
  const existing = p.members.get(email);
  if (!existing) return p;
  return applyJoin(p, { ...existing, address });
}

/** A user leaves: a LEAVE delta, or nothing if they were not online. */
export function applyLeave(p: PresenceLog, email: string): PresenceLog {
  if (!p.members.has(email)) return p;
  return record(p, PersistentMap.from(p.members).delete(email), { kind: 'leave', email });
}

export interface DeltaWindow {
  base: number;
  version: number;
  deltas: Delta[];
  resync: boolean;
}

/**
 * The deltas leading from `base` (the version a client acknowledged in the current epoch; pass
 * -1 when its SEIS named another epoch or none yet) toward the current version: as many
 * contiguous deltas as fit in `maxBytes`. When !resync, `version === base + deltas.length`
 * (possibly short of `p.version` if the budget ran out: the client catches up over several
 * probes). `resync` is set, with no deltas and the current version, when `base` is older than
 * the log or newer than the list.
 */
export function deltasSince(p: PresenceLog, base: number, maxBytes: number): DeltaWindow {
  if (!Number.isInteger(base) || base < p.logStart || base > p.version) {
    return { base, version: p.version, deltas: [], resync: true };
  }
  const deltas: Delta[] = [];
  let used = 0;
  for (let i = base - p.logStart; i < p.log.length; i++) {
    const d = p.log.at(i) as Delta;
    const size = deltaSize(d);
    if (used + size > maxBytes) break;
    used += size;
    deltas.push(d);
  }
  return { base, version: base + deltas.length, deltas, resync: false };
}

// ---- client side: the roster -----------------------------------------------------------------

export interface RosterSync {
  /** id of the outstanding ROSTER_REQ (u16); answers to other requests are ignored */
  request: number;
  cursor: string;
  /** epoch and version of the first page; the deltas are applied from there on */
  pageEpoch: number | null;
  pageVersion: number | null;
  collected: ReadonlyMap<string, Member>;
}

export interface Roster {
  epoch: number;
  /** -1 = unknown */
  version: number;
  members: ReadonlyMap<string, Member>;
  sync: null | RosterSync;
}

export function emptyRoster(): Roster {
  return { epoch: 0, version: -1, members: PersistentMap.empty(), sync: null };
}

/** Request ids travel as u16. */
export function nextRequestId(request: number): number {
  return (request + 1) & 0xffff;
}

/**
 * What a TRUCO does to the roster. While a sync runs the truco's deltas are ignored. Otherwise:
 * another epoch → resync; already at (or past) the truco's version → unchanged (even with the
 * resync flag: we hold that very version); the resync flag, a gap (base above our version) or an
 * inconsistent truco (deltas.length ≠ version − base) → resync; else the deltas we lack are
 * applied in order.
 */
export function onTruco(r: Roster, t: Truco): { roster: Roster; needSync: boolean } {
  if (trucoNeedsSync(r, t)) return { roster: r, needSync: true };
  if (r.sync !== null || t.epoch !== r.epoch || t.version <= r.version) return { roster: r, needSync: false };
  let members = PersistentMap.from(r.members);
  for (const d of t.deltas.slice(r.version - t.base)) {
    members = d.kind === 'leave' ? members.delete(d.email) : members.set(d.member.email, d.member);
  }
  return { roster: { epoch: r.epoch, version: t.version, members, sync: null }, needSync: false };
}

/** `onTruco(r, t).needSync`, without building the new roster. */
export function trucoNeedsSync(r: Roster, t: Truco): boolean {
  if (r.sync !== null) return false;
  if (t.epoch !== r.epoch) return true;
  if (t.version <= r.version) return false;
  return t.resync || t.base > r.version || t.deltas.length !== t.version - t.base;
}

/** Begin paging the roster with request id `request` from the start. */
export function startSync(r: Roster, request: number): Roster {
  return {
    ...r,
    sync: { request: request & 0xffff, cursor: '', pageEpoch: null, pageVersion: null, collected: PersistentMap.empty() },
  };
}

/** Abandon a sync in progress (the session left `online`); the roster keeps what it had. */
export function cancelSync(r: Roster): Roster {
  return r.sync === null ? r : { ...r, sync: null };
}

/** What `onPage(r, page)` will do, without building the new roster. */
export function pageEffect(r: Roster, page: RosterPage): 'ignored' | 'next' | 'done' {
  const s = r.sync;
  if (s === null || page.request !== s.request) return 'ignored';
  if (s.pageEpoch !== null && page.epoch !== s.pageEpoch) return 'next';
  return page.more ? 'next' : 'done';
}

/**
 * A ROSTER_PAGE arrived. Pages answering another request than the outstanding one (late
 * duplicates, an abandoned sync) are ignored: `roster` is returned unchanged and `next` is null.
 * The first page's epoch and version are kept; the last page (`more` false) completes the sync.
 * Otherwise `next` is the following request to send; each page gets a fresh request id (the
 * current one + 1, mod 2^16) so a late duplicate of an earlier page is never mistaken for it.
 * A page from another epoch than the first one (server restart mid-sync) restarts from the top.
 */
export function onPage(r: Roster, page: RosterPage): { roster: Roster; next: null | { request: number; cursor: string } } {
  const s = r.sync;
  if (s === null || page.request !== s.request) return { roster: r, next: null };
  const request = nextRequestId(s.request);
  if (s.pageEpoch !== null && page.epoch !== s.pageEpoch) {
    const roster = { ...r, sync: { request, cursor: '', pageEpoch: null, pageVersion: null, collected: PersistentMap.empty<Member>() } };
    return { roster, next: { request, cursor: '' } };
  }
  let collected = PersistentMap.from(s.collected);
  for (const m of page.entries) collected = collected.set(m.email, m);
  const pageEpoch = s.pageEpoch ?? page.epoch;
  const pageVersion = s.pageVersion ?? page.version;
  if (!page.more) {
    return { roster: { epoch: pageEpoch, version: pageVersion, members: collected, sync: null }, next: null };
  }
  return {
    roster: { ...r, sync: { request, cursor: page.next, pageEpoch, pageVersion, collected } },
    next: { request, cursor: page.next },
  };
}

/** What a SEIS carries for "no version known" (the field is a u32; above any real version). */
export const UNKNOWN_VERSION = 0xffffffff;

/** The roster a RESUME says the client holds: its epoch and version, or none while a sync is under way. */
export function rosterHeld(r: Roster): { epoch: number; version: number } {
  return r.sync === null && r.version >= 0 ? { epoch: r.epoch, version: r.version } : { epoch: 0, version: UNKNOWN_VERSION };
}

/**
 * The epoch and version a SEIS acknowledges, ready for the wire (an unknown version becomes
 * UNKNOWN_VERSION, which deltasSince answers with resync). During a sync, once the first page is
 * in, that is the first page's epoch and version: the sync ends there and the deltas from it on
 * are exactly what the client needs next (so a sync that spans a probe does not cause another).
 */
export function rosterVersionForSeis(r: Roster): { epoch: number; version: number } {
  if (r.sync !== null && r.sync.pageEpoch !== null && r.sync.pageVersion !== null) {
    return { epoch: r.sync.pageEpoch, version: r.sync.pageVersion };
  }
  return { epoch: r.epoch, version: r.version < 0 ? UNKNOWN_VERSION : r.version };
}
