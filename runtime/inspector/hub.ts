/**
 * The inspection hub: the in-process side of the offline inspector. Its `observe` function is
 * the XState v5 `inspect` observer passed to `createActor`; it keeps a cheap record per actor
 * and lets the HTTP layer list, search, watch and render them.
 *
 * Cost model (10 000 users on the server):
 * - per actor: one small record (ids, status, a compact state string, a short ring of recent
 *   events already sanitized, so no raw event with a password stays referenced). No snapshot is
 *   copied: the live actor is asked with `getSnapshot()` when someone looks at it.
 * - per event: a few map look-ups and a small sanitize of the event; snapshots of actors nobody
 *   watches cost a comparison of state strings.
 * - only watched actors (the one selected in a page) are rendered and pushed, coalesced to at
 *   most one push per `flushMs` (more apart for views that are slow to build, at most 150 ms).
 * - ended actors are kept (marked done/stopped) for a while, at most `endedKeep` of them.
 */
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { activeIds, describeMachine, isMachine, type Chart } from './definition.ts';
import { sanitize, sanitizeEvent, type Sanitized, type SanitizeOptions } from './sanitize.ts';

export type ActorStatus = 'active' | 'done' | 'error' | 'stopped';

export interface ActorRow {
  /** the hub's id for the actor (unique in the process, unlike XState's sessionId) */
  uid: string;
  /** the actor's id (`liveness:ana@example.com`), or the machine's id for a root */
  name: string;
  /** what runs: the machine's id, the invoked source's name, or the logic kind */
  kind: string;
  parent: string | null;
  status: ActorStatus;
  /** the state value, compact: `alive`, `suspect.probing`, `online(link.live presence.idle)` */
  state: string;
  children: number;
  startedAt: number;
  endedAt: number | null;
}

export interface TakenTransition {
  source: string;
  event: string;
  targets: string[];
}

export interface ActorView extends ActorRow {
  /** key for `chart(key)`; null for actors that are not state machines */
  chart: string | null;
  /** ids of the active state nodes */
  active: string[];
  value: Sanitized;
  context: Sanitized;
  input?: Sanitized;
  output?: Sanitized;
  error?: Sanitized;
  /** transitions taken since the previous push (watched actors only) */
  taken: TakenTransition[];
  /** when the snapshot shown was made (ms since epoch) */
  t: number;
}

export interface LogEntry {
  seq: number;
  t: number;
  kind: 'event' | 'state' | 'status';
  /** event type, the new state string, or the new status */
  type: string;
  /** the sender's name, when another actor sent it */
  source: string | null;
  event?: Sanitized;
}

export interface Watcher {
  view(v: ActorView): void;
  log(entries: LogEntry[]): void;
  /** the actor was forgotten (evicted) */
  gone(): void;
}

export interface HubOptions {
  now?: () => number;
  /** log entries kept per actor (default 100) */
  logSize?: number;
  /** ended actors kept for the tree (default 1000) */
  endedKeep?: number;
  /** minimum ms between two pushes of one watched actor (default 30) */
  flushMs?: number;
  sanitize?: SanitizeOptions;
}

interface Rec {
  uid: string;
  ref: AnyActorRef | null;
  name: string;
  kind: string;
  chartKey: string | null;
  parent: Rec | null;
  children: Set<Rec>;
  status: ActorStatus;
  value: unknown;
  state: string;
  startedAt: number;
  endedAt: number | null;
  snapshotAt: number;
  log: LogEntry[];
  logHead: number;
  seq: number;
  /** the view frozen at the end (the actor reference is dropped then) */
  final: ActorView | null;
  watchers: Set<Watcher> | null;
  dirty: boolean;
  taken: TakenTransition[];
  sentSeq: number;
  lastFlush: number;
  /** how long the last pushed view took to build */
  buildMs: number;
  flushTimer: NodeJS.Timeout | null;
  evicted: boolean;
}

export interface Hub {
  /** the XState `inspect` observer */
  observe(event: InspectionEvent): void;
  /**
   * A page of an actor's children (`parent` null: the root actors), optionally only those whose
   * name or kind contains `q`; null when the parent is unknown.
   */
  children(parent: string | null, opts?: { q?: string; offset?: number; limit?: number }): { rows: ActorRow[]; total: number; matched: number } | null;
  /** actors whose name or kind contains `q` (case-insensitive), with their ancestors' names */
  search(q: string, limit?: number): { rows: Array<ActorRow & { path: string[] }>; matched: number };
  row(uid: string): ActorRow | null;
  view(uid: string): ActorView | null;
  log(uid: string): LogEntry[];
  chart(key: string): Chart | null;
  /** pushes of `uid`'s view and new log entries until the returned function is called */
  watch(uid: string, w: Watcher): (() => void) | null;
  /** called (synchronously) whenever the tree changes: an actor appears, changes state or ends */
  onTreeChange(fn: () => void): () => void;
  stats(): { actors: number; live: number; ended: number; events: number; treeVersion: number };
  /** clears timers */
  close(): void;
}

/** `alive`, `suspect.probing`, `online(link.live presence.idle)` */
export function stateString(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value !== 'object') return String(value);
  const entries = Object.entries(value as Record<string, unknown>);
  const parts = entries.map(([k, v]) => {
    const sub = stateString(v);
    if (!sub) return k;
    return typeof v === 'object' && v !== null && Object.keys(v).length > 1 ? `${k}(${sub})` : `${k}.${sub}`;
  });
  return parts.join(' ');
}

export function createHub(options: HubOptions = {}): Hub {
  const now = options.now ?? Date.now;
  const logSize = options.logSize ?? 100;
  const endedKeep = options.endedKeep ?? 1000;
  const flushMs = options.flushMs ?? 30;
  const sopts = options.sanitize ?? {};

  const byRef = new WeakMap<object, Rec>();
  const byUid = new Map<string, Rec>();
  const roots = new Set<Rec>();
  const ended: Rec[] = [];
  let endedHead = 0;
  let nextUid = 1;
  let events = 0;
  let live = 0;
  let treeVersion = 0;

  const chartKeys = new WeakMap<object, string>();
  const machines = new Map<string, { machine: unknown; chart: Chart | null }>();
  let nextChart = 1;

  const treeListeners = new Set<() => void>();
  const treeChanged = () => {
    treeVersion++;
    for (const fn of treeListeners) fn();
  };

  function chartKeyOf(logic: unknown): string | null {
    if (!isMachine(logic)) return null;
    let key = chartKeys.get(logic);
    if (!key) {
      key = `c${nextChart++}`;
      chartKeys.set(logic, key);
      machines.set(key, { machine: logic, chart: null });
    }
    return key;
  }

  function chartOf(key: string | null): Chart | null {
    if (!key) return null;
    const m = machines.get(key);
    if (!m) return null;
    m.chart ??= describeMachine(m.machine as Parameters<typeof describeMachine>[0]);
    return m.chart;
  }

  function pushLog(rec: Rec, entry: Omit<LogEntry, 'seq'>): void {
    const e: LogEntry = { ...entry, seq: ++rec.seq };
    if (rec.log.length < logSize) rec.log.push(e);
    else {
      rec.log[rec.logHead] = e;
      rec.logHead = (rec.logHead + 1) % logSize;
    }
  }

  function logOf(rec: Rec): LogEntry[] {
    if (rec.log.length < logSize) return rec.log.slice();
    return [...rec.log.slice(rec.logHead), ...rec.log.slice(0, rec.logHead)];
  }

  function register(ref: AnyActorRef): Rec {
    const existing = byRef.get(ref);
    if (existing) return existing;
    const r = ref as AnyActorRef & { _parent?: AnyActorRef; logic?: unknown; src?: unknown };
    const parent = r._parent ? (byRef.get(r._parent) ?? null) : null;
    const logic = r.logic;
    const chartKey = chartKeyOf(logic);
    const machineId = isMachine(logic) ? logic.id : null;
    const src = typeof r.src === 'string' ? r.src : null;
    const kind = machineId ?? src ?? 'actor';
    const name = parent === null && (ref.id === ref.sessionId || !ref.id) ? (machineId ?? ref.id) : ref.id;
    const t = now();
    const rec: Rec = {
      uid: `a${nextUid++}`,
      ref,
      name,
      kind,
      chartKey,
      parent,
      children: new Set(),
      status: 'active',
      value: undefined,
      state: '',
      startedAt: t,
      endedAt: null,
      snapshotAt: t,
      log: [],
      logHead: 0,
      seq: 0,
      final: null,
      watchers: null,
      dirty: false,
      taken: [],
      sentSeq: 0,
      lastFlush: 0,
      buildMs: 0,
      flushTimer: null,
      evicted: false,
    };
    byRef.set(ref, rec);
    byUid.set(rec.uid, rec);
    if (parent) parent.children.add(rec);
    else roots.add(rec);
    live++;
    treeChanged();
    return rec;
  }

  function rowOf(rec: Rec): ActorRow {
    return {
      uid: rec.uid,
      name: rec.name,
      kind: rec.kind,
      parent: rec.parent?.uid ?? null,
      status: rec.status,
      state: rec.state,
      children: rec.children.size,
      startedAt: rec.startedAt,
      endedAt: rec.endedAt,
    };
  }

  function buildView(rec: Rec, taken: TakenTransition[]): ActorView {
    if (rec.final) return { ...rec.final, ...rowOf(rec), taken };
    const snap = (rec.ref?.getSnapshot() ?? {}) as Record<string, unknown>;
    const chart = chartOf(rec.chartKey);
    const view: ActorView = {
      ...rowOf(rec),
      chart: rec.chartKey,
      active: chart && 'value' in snap ? activeIds(chart, snap.value) : [],
      value: sanitize(snap.value, sopts),
      context: sanitize(snap.context, sopts),
      taken,
      t: rec.snapshotAt,
    };
    if ('input' in snap) view.input = sanitize(snap.input, sopts);
    if (snap.output !== undefined) view.output = sanitize(snap.output, sopts);
    if (snap.error !== undefined) view.error = sanitize(snap.error, sopts);
    return view;
  }

  function scheduleFlush(rec: Rec): void {
    if (!rec.watchers || rec.watchers.size === 0 || rec.flushTimer) return;
    // A view that is slow to build (a registry with thousands of members) is pushed less often,
    // so watching it costs the process at most about a tenth of its time; never less often
    // than every 150 ms.
    const gap = Math.min(150, Math.max(flushMs, rec.buildMs * 10));
    const wait = Math.max(0, rec.lastFlush + gap - now());
    rec.flushTimer = setTimeout(() => flush(rec), wait);
    rec.flushTimer.unref();
  }

  function flush(rec: Rec): void {
    rec.flushTimer = null;
    rec.lastFlush = now();
    if (!rec.watchers || rec.watchers.size === 0) return;
    const fresh = logOf(rec).filter((e) => e.seq > rec.sentSeq);
    if (fresh.length > 0) {
      rec.sentSeq = (fresh[fresh.length - 1] as LogEntry).seq;
      for (const w of rec.watchers) w.log(fresh);
    }
    if (rec.dirty) {
      rec.dirty = false;
      const t0 = performance.now();
      const view = buildView(rec, rec.taken);
      rec.buildMs = performance.now() - t0;
      rec.taken = [];
      for (const w of rec.watchers) w.view(view);
    }
  }

  function touch(rec: Rec): void {
    if (rec.watchers && rec.watchers.size > 0) scheduleFlush(rec);
  }

  function end(rec: Rec, status: ActorStatus): void {
    if (rec.status !== 'active') {
      rec.status = status;
      return;
    }
    rec.status = status;
    rec.endedAt = now();
    live--;
    // Freeze what the page may still show, then let go of the actor (and whatever it holds).
    rec.final = buildView(rec, []);
    rec.ref = null;
    ended.push(rec);
    while (ended.length - endedHead > endedKeep) {
      const old = ended[endedHead];
      ended[endedHead] = undefined as unknown as Rec;
      endedHead++;
      if (old) evict(old);
    }
    if (endedHead > 4096 && endedHead * 2 > ended.length) {
      ended.splice(0, endedHead);
      endedHead = 0;
    }
  }

  function evict(rec: Rec): void {
    rec.evicted = true;
    byUid.delete(rec.uid);
    if (rec.parent) rec.parent.children.delete(rec);
    else roots.delete(rec);
    if (rec.flushTimer) clearTimeout(rec.flushTimer);
    if (rec.watchers) for (const w of rec.watchers) w.gone();
    rec.watchers = null;
  }

  function observe(ev: InspectionEvent): void {
    events++;
    switch (ev.type) {
      case '@xstate.actor': {
        register(ev.actorRef as AnyActorRef);
        return;
      }
      case '@xstate.event': {
        const rec = byRef.get(ev.actorRef) ?? register(ev.actorRef as AnyActorRef);
        const source = ev.sourceRef ? (byRef.get(ev.sourceRef)?.name ?? null) : null;
        pushLog(rec, { t: now(), kind: 'event', type: String(ev.event.type), source, event: sanitizeEvent(ev.event, sopts) });
        touch(rec);
        return;
      }
      case '@xstate.snapshot': {
        const rec = byRef.get(ev.actorRef) ?? register(ev.actorRef as AnyActorRef);
        const snap = ev.snapshot as { status?: string; value?: unknown };
        const t = now();
        rec.snapshotAt = t;
        let changed = false;
        if ('value' in snap) {
          rec.value = snap.value;
          const s = stateString(snap.value);
          if (s !== rec.state) {
            rec.state = s;
            pushLog(rec, { t, kind: 'state', type: s, source: null });
            changed = true;
          }
        }
        const status = (snap.status ?? 'active') as ActorStatus;
        if (status !== rec.status && rec.status === 'active') {
          pushLog(rec, { t, kind: 'status', type: status, source: null });
          rec.dirty = true;
          end(rec, status);
          changed = true;
        } else if (rec.status === 'active') {
          rec.dirty = true;
        }
        touch(rec);
        if (changed) treeChanged();
        return;
      }
      case '@xstate.microstep': {
        const rec = byRef.get(ev.actorRef);
        if (!rec || !rec.watchers || rec.watchers.size === 0) return;
        for (const tr of ev._transitions) {
          rec.taken.push({
            source: tr.source.id,
            event: String(tr.eventType),
            targets: (tr.target ?? []).map((s: { id: string }) => s.id),
          });
        }
        if (rec.taken.length > 50) rec.taken.splice(0, rec.taken.length - 50);
        return;
      }
      default:
        return;
    }
  }

  const matches = (rec: Rec, q: string) => q === '' || rec.name.toLowerCase().includes(q) || rec.kind.toLowerCase().includes(q);

  let closed = false;
  return {
    observe: (ev) => {
      if (closed) return;
      try {
        observe(ev);
      } catch {
        // The inspector must never break the process it watches.
      }
    },
    children(parent, opts = {}) {
      const list = parent === null ? roots : byUid.get(parent)?.children;
      if (!list) return null;
      const q = (opts.q ?? '').toLowerCase();
      const offset = Math.max(0, opts.offset ?? 0);
      const limit = Math.max(1, Math.min(1000, opts.limit ?? 100));
      const rows: ActorRow[] = [];
      let matched = 0;
      for (const c of list) {
        if (!matches(c, q)) continue;
        if (matched >= offset && rows.length < limit) rows.push(rowOf(c));
        matched++;
      }
      return { rows, total: list.size, matched };
    },
    search(q, limit = 100) {
      const needle = q.toLowerCase();
      const rows: Array<ActorRow & { path: string[] }> = [];
      let matched = 0;
      for (const rec of byUid.values()) {
        if (!matches(rec, needle)) continue;
        matched++;
        if (rows.length >= limit) continue;
        const path: string[] = [];
        for (let p = rec.parent; p; p = p.parent) path.unshift(p.name);
        rows.push({ ...rowOf(rec), path });
      }
      return { rows, matched };
    },
    row(uid) {
      const rec = byUid.get(uid);
      return rec ? rowOf(rec) : null;
    },
    view(uid) {
      const rec = byUid.get(uid);
      return rec ? buildView(rec, []) : null;
    },
    log(uid) {
      const rec = byUid.get(uid);
      return rec ? logOf(rec) : [];
    },
    chart: (key) => chartOf(key),
    watch(uid, w) {
      const rec = byUid.get(uid);
      if (!rec) return null;
      // bring the existing watchers up to date, so the newcomer starts from the same point:
      // entries already in the ring come with its first fetch, newer ones are pushed
      if (rec.watchers && rec.watchers.size > 0) {
        if (rec.flushTimer) clearTimeout(rec.flushTimer);
        flush(rec);
      }
      rec.watchers ??= new Set();
      rec.watchers.add(w);
      rec.sentSeq = rec.seq;
      return () => {
        rec.watchers?.delete(w);
        if (rec.watchers && rec.watchers.size === 0 && rec.flushTimer) {
          clearTimeout(rec.flushTimer);
          rec.flushTimer = null;
        }
      };
    },
    onTreeChange(fn) {
      treeListeners.add(fn);
      return () => treeListeners.delete(fn);
    },
    stats: () => ({ actors: byUid.size, live, ended: byUid.size - live, events, treeVersion }),
    close() {
      closed = true;
      for (const rec of byUid.values()) {
        if (rec.flushTimer) clearTimeout(rec.flushTimer);
        rec.flushTimer = null;
        rec.watchers = null;
      }
      treeListeners.clear();
    },
  };
}
