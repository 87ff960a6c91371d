/**
 * The load generator: many simulated clients in one process, each with its own UDP socket,
 * logging in through the real handshake (runtime/handshake.ts: Noise NK, then AUTH with a
 * resumption ticket or a password) and speaking the real session protocol: it answers every
 * TRUCO with a SEIS that acknowledges the presence version it holds, follows presence deltas,
 * pages the roster when it must, resumes after a STALE, a KICK(shutdown) or misses + 2 silent
 * intervals, and sends an unsolicited SEIS every interval once 2 have passed without a TRUCO: the
 * session machine's watchdog and quiet link (machines/session.ts).
 *
 * What it leaves out, so that 20 000 of them fit in one process: no XState session machine and
 * no member map per client. A simulated client keeps the roster's (epoch, version, size). In
 * `ramp` mode a client that must resync takes the first ROSTER_PAGE (which makes the server
 * count it as synced from that version, PROTOCOL.md §6) and does not fetch the rest: N clients
 * paging N entries each at once is O(N²) datagrams that no ramp-up needs. In `full` mode (the
 * login storm) it pages the whole roster and counts the entries, as a real client does.
 *
 * Driven over IPC by the benches (lib.ts `startWorker`): init, login, stats, leave, join,
 * watch, storm, plogin, stop. Every loop here is bounded in time. Diagnosis: `stats` also gives this
 * process's own loop delay and run-queue wait; TRUCO_DRIFT_LOG=FILE logs every late probe.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Split } from '../../runtime/crypto/noise.ts';
import { clientKeys, createSession, type SessionCipher } from '../../runtime/crypto/session.ts';
import { HandshakeDesk, type Timing } from '../../runtime/handshake.ts';
import { holdToken, sameToken } from '../../runtime/crypto/reset.ts';
import { bindUdp, type Udp } from '../../runtime/udp.ts';
import { decodeBody, encodeBody } from '../../runtime/wire/body.ts';
import { decodeOuter, sessionDatagram } from '../../runtime/wire/outer.ts';
import { SESSION_HEADER_SIZE, Type } from '../../runtime/wire/constants.ts';
import type { Address, AuthRequest, SessionBody, RosterPage } from '../../runtime/wire/types.ts';
import { Histogram, runQueueWaitMs, serveRequests } from './lib.ts';

const UNKNOWN_VERSION = 0xffffffff;

/** TRUCO_LOADGEN_PROFILE=DIR: a V8 CPU profile of this process, written into DIR on 'stop'. */
const profiled = await startProfile(process.env.TRUCO_LOADGEN_PROFILE);
async function startProfile(dir: string | undefined): Promise<(() => Promise<void>) | null> {
  if (!dir) return null;
  const session = new Session();
  session.connect();
  const post = (method: string) => new Promise<unknown>((res, rej) => session.post(method, (e, r) => (e ? rej(e) : res(r))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `loadgen-${process.pid}.cpuprofile`), JSON.stringify(profile));
  };
}
/** TRUCO_DRIFT_LOG=FILE (diagnosis): every late probe (≥ 50 ms) with its wall time, appended to FILE */
const DRIFT_LOG = process.env.TRUCO_DRIFT_LOG;
let driftLog: string[] = [];
if (DRIFT_LOG) {
  setInterval(() => {
    if (driftLog.length) appendFileSync(DRIFT_LOG, driftLog.join('\n') + '\n');
    driftLog = [];
  }, 500).unref();
}
const TIMING: Timing = { rtoMs: 250, maxRtoMs: 2000, deadlineMs: 8000, authMs: 5000 };

interface Sync {
  request: number;
  cursor: string;
  pageEpoch: number | null;
  pageVersion: number | null;
  entries: number;
  sentAt: number;
}

interface Client {
  email: string;
  ticket: Uint8Array;
  peerKey: Uint8Array;
  udp: Udp;
  desk: HandshakeDesk;
  live: { sid: number; cipher: SessionCipher; holdToken: Uint8Array } | null;
  state: 'idle' | 'connecting' | 'online' | 'reconnecting' | 'failed' | 'closed';
  epoch: number;
  version: number;
  /** roster size, NaN when unknown (ramp mode) */
  size: number;
  sync: Sync | null;
  nextRequest: number;
  /** performance.now() of the last TRUCO, 0 after a (re)connection */
  lastTruco: number;
  /** performance.now() of the last unsolicited SEIS (the quiet link's keepalive) */
  quietAt: number;
  /** performance.now() until which a restarted server's HOLD asks us to wait for its STALE, 0: none */
  heldUntil: number;
  /** in a storm: Date.now() when back online, and when its roster was complete again */
  onlineAt: number;
  completeAt: number;
  stormed: boolean;
}

let server: Address = { family: 4, host: '127.0.0.1', port: 0 };
let serverKey: Uint8Array = new Uint8Array(32);
let intervalMs = 1000;
/** the server's `misses`, from the AUTH result: the watchdog fires after misses + 2 silent intervals */
let misses = 3;
let mode: 'ramp' | 'full' = 'ramp';
/**
 * Set by a `login` with `deferSync` (the presence bench's ramp), cleared by `resync`: a client
 * that must sync leaves it for later, and keeps acknowledging the version it holds (none, after
 * a fresh login). The server then sends it 19-byte TRUCOs that say "resync" instead of windows of
 * ~1.2 KB of deltas: at 15 000 clients, a ramp of 250 logins a second kept every client behind,
 * every probe a full window, and the server (and generators) past the 2 cores, so that the ramp
 * stalled around 15 000-18 000 and clients were falsely evicted before anything was measured.
 */
let deferSync = false;
const clients = new Map<string, Client>();

// ---- counters (reset by 'reset') --------------------------------------------------------------
let bytesIn = 0;
let trucos = 0;
let seisSent = 0;
let measuring = false;
let drift = new Histogram(1, 10_000);
const evicted = new Set<string>();
const unexpectedLeaves = new Set<string>();
const expectedLeaves = new Set<string>();
let cpu0 = process.cpuUsage();
let elu0 = performance.eventLoopUtilization();
/**
 * This process's own lateness, so that a reader can tell the generator's delays from the server's
 * in the drift it measures: how late its event loop ran (p99 and max, ms), and how long its main
 * thread was runnable but waiting for a core (/proc/thread-self/schedstat, ms; 0 off Linux).
 */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let wait0 = runQueueWaitMs();
let t0 = performance.now();
let resyncs = 0;
let pagesIn = 0;

/** email → { kind, arrivals: Date.now() at which each client saw that delta (once per client) } */
const watches = new Map<string, { kind: 'join' | 'leave'; seen: Set<string>; arrivals: number[] }>();

// ---- session traffic ----------------------------------------------------------------------------
function sendBody(c: Client, body: SessionBody): void {
  const s = c.live;
  if (!s) return;
  const encoded = encodeBody(body);
  if (encoded.isErr()) return;
  const counter = s.cipher.tx.takeNumber();
  if (counter < 0) return;
  const out = sessionDatagram(encoded.value.code, s.sid, counter, encoded.value.bytes.length);
  s.cipher.tx.sealAfter(counter, out, SESSION_HEADER_SIZE, encoded.value.bytes);
  c.udp.send(out, server);
}

/** the roster a resume says it holds, as the real client does (none while a sync is under way) */
function rosterHeld(c: Client): { epoch: number; version: number } {
  return c.sync === null && c.version >= 0 ? { epoch: c.epoch, version: c.version } : { epoch: 0, version: UNKNOWN_VERSION };
}

function seisVersion(c: Client): { epoch: number; version: number } {
  if (c.sync && c.sync.pageEpoch !== null && c.sync.pageVersion !== null) return { epoch: c.sync.pageEpoch, version: c.sync.pageVersion };
  return { epoch: c.epoch, version: c.version < 0 ? UNKNOWN_VERSION : c.version };
}

function startSync(c: Client): void {
  resyncs++;
  c.sync = { request: c.nextRequest, cursor: '', pageEpoch: null, pageVersion: null, entries: 0, sentAt: performance.now() };
  c.nextRequest = (c.nextRequest + 1) & 0xffff;
  sendBody(c, { type: 'ROSTER_REQ', request: c.sync.request, cursor: '' });
}

function checkComplete(c: Client): void {
  if (c.stormed && c.completeAt === 0 && c.onlineAt > 0 && c.sync === null && c.epoch === stormEpoch && c.size === stormSize) c.completeAt = Date.now();
}

/**
 * A TRUCO read in place, without building Member objects or, unless a delta is watched or is a
 * LEAVE, even its email: at 20 000 clients a second, each TRUCO of a login ramp carrying ~20
 * deltas, decoding them made the generator (not the server) the bottleneck. Null: malformed.
 */
interface LightTruco {
  probe: number;
  epoch: number;
  version: number;
  base: number;
  resync: boolean;
  /** net change of the roster's size over the deltas from index `from` on (see readTruco) */
  growth: number;
  count: number;
}
function readTruco(c: Client, b: Buffer, wall: number): LightTruco | null {
  if (b.length < 19) return null;
  const count = b.readUInt16BE(17);
  const base = b.readUInt32BE(12);
  // the deltas this client lacks start at index c.version - base (when it follows deltas)
  const from = c.version - base;
  let growth = 0;
  let at = 19;
  for (let i = 0; i < count; i++) {
    const kind = b[at];
    const len = b[at + 1];
    if (kind === undefined || len === undefined || at + 2 + len > b.length) return null;
    if (kind === 2 || watches.size > 0) onDelta(c, kind, b.toString('latin1', at + 2, at + 2 + len), wall);
    if (i >= from) growth += kind === 1 ? 1 : kind === 2 ? -1 : 0;
    at += 2 + len;
    if (kind !== 2) {
      const family = b[at];
      at += 1 + (family === 6 ? 16 : 4) + 2 + 32;
    }
  }
  return { probe: b.readUInt32BE(0), epoch: b.readUInt32BE(4), version: b.readUInt32BE(8), base, resync: (b[16] ?? 0) !== 0, growth, count };
}

const KIND = ['', 'join', 'leave', 'update'] as const;

/** a LEAVE (or any watched delta) seen by client `c` */
function onDelta(c: Client, kind: number, email: string, wall: number): void {
  if (watches.size > 0) {
    const w = watches.get(KIND[kind] + ':' + email);
    if (w && !w.seen.has(c.email)) {
      w.seen.add(c.email);
      w.arrivals.push(wall);
    }
  }
  if (kind === 2 && !expectedLeaves.has(email)) unexpectedLeaves.add(email);
}

function onTruco(c: Client, t: LightTruco): void {
  const now = performance.now();
  if (measuring && c.lastTruco > 0) {
    const gap = now - c.lastTruco;
    // a push or a re-probe comes between regular probes: only regular gaps measure drift
    if (gap >= intervalMs / 2) drift.add(Math.max(0, gap - intervalMs));
    if (DRIFT_LOG && gap - intervalMs >= 50) driftLog.push(`drift ${Date.now()} ${Math.round(gap - intervalMs)} ${c.email}`);
  }
  c.lastTruco = now;
  trucos++;
  if (c.sync === null && !deferSync) {
    if (t.epoch !== c.epoch) startSync(c);
    else if (t.version > c.version) {
      if (t.resync || t.base > c.version || t.count !== t.version - t.base) startSync(c);
      else {
        c.size += t.growth;
        c.version = t.version;
      }
    }
  }
  checkComplete(c);
  seisSent++;
  sendSeis(c, t.probe, seisVersion(c));
}

/** A SEIS, built directly: header, then the sealed 12-byte body (runtime/wire/seis.ts). */
const seisBody = Buffer.alloc(12);
function sendSeis(c: Client, probe: number, v: { epoch: number; version: number }): void {
  const s = c.live;
  if (!s) return;
  const counter = s.cipher.tx.takeNumber();
  if (counter < 0) return;
  const out = sessionDatagram(Type.SEIS, s.sid, counter, seisBody.length);
  seisBody.writeUInt32BE(probe >>> 0, 0);
  seisBody.writeUInt32BE(v.epoch >>> 0, 4);
  seisBody.writeUInt32BE(v.version >>> 0, 8);
  s.cipher.tx.sealAfter(counter, out, SESSION_HEADER_SIZE, seisBody);
  c.udp.send(out, server);
}

function onPage(c: Client, p: RosterPage): void {
  pagesIn++;
  const s = c.sync;
  if (!s || p.request !== s.request) return;
  if (s.pageEpoch !== null && p.epoch !== s.pageEpoch) {
    c.sync = null;
    return startSync(c);
  }
  s.pageEpoch ??= p.epoch;
  s.pageVersion ??= p.version;
  s.entries += p.entries.length;
  if (p.more && mode === 'full') {
    s.request = c.nextRequest;
    c.nextRequest = (c.nextRequest + 1) & 0xffff;
    s.cursor = p.next;
    s.sentAt = performance.now();
    sendBody(c, { type: 'ROSTER_REQ', request: s.request, cursor: s.cursor });
    return;
  }
  c.epoch = s.pageEpoch;
  c.version = s.pageVersion;
  c.size = p.more ? NaN : s.entries;
  c.sync = null;
  checkComplete(c);
}

function onDatagram(c: Client, bytes: Buffer): void {
  bytesIn += bytes.length;
  const outer = decodeOuter(bytes);
  if (outer.isErr()) return;
  const m = outer.value;
  if (m.type === 'WELCOME' || m.type === 'AUTH_RESULT' || m.type === 'KEY') {
    c.desk.deliver(m);
    return;
  }
  if (m.type === 'STALE') {
    if (c.live && m.sid === c.live.sid) lost(c, 'stale');
    return;
  }
  if (m.type === 'HOLD') {
    // as the session machine: once per session, then no watchdog and no quiet link until the
    // STALE comes or the wait is over
    if (c.state === 'online' && c.heldUntil === 0 && c.live && m.sid === c.live.sid && sameToken(m.token, c.live.holdToken)) {
      c.heldUntil = performance.now() + m.waitMs;
    }
    return;
  }
  if (m.type !== 'SESSION' || !c.live || m.sid !== c.live.sid) return;
  const plain = c.live.cipher.rx.open(m.counter, m.aad, m.sealed);
  if (plain.isErr()) return;
  if (m.code === Type.TRUCO) {
    const t = readTruco(c, plain.value as Buffer, Date.now());
    if (t) onTruco(c, t);
    return;
  }
  const body = decodeBody(m.code, plain.value);
  if (body.isErr()) return;
  const b = body.value;
  switch (b.type) {
    case 'ROSTER_PAGE':
      return onPage(c, b);
    case 'KICK':
      return lost(c, b.reason);
    default:
      return;
  }
}

/** The session is gone: a false eviction unless the server is going away; then resume. */
function lost(c: Client, why: string): void {
  if (c.state !== 'online') return;
  if (why !== 'shutdown' && !c.stormed) evicted.add(c.email);
  if (why === 'elsewhere' || why === 'ticket_revoked') {
    c.state = 'failed';
    c.live = null;
    return;
  }
  reconnect(c);
}

// ---- handshakes ---------------------------------------------------------------------------------
async function connect(c: Client, request: AuthRequest): Promise<'ok' | string> {
  const r = await c.desk.authenticate(serverKey, request);
  if (r.isErr()) return r.error.type;
  const res = r.value.result;
  if (res.status !== 'session') return res.status;
  misses = res.misses;
  establish(c, res.sid, r.value.split, res.epoch, res.resetToken);
  return 'ok';
}

let stormEpoch = -1;
let stormSize = NaN;

function establish(c: Client, sid: number, split: Split, epoch: number, reset: Uint8Array): void {
  c.live = { sid, cipher: createSession(clientKeys(split)), holdToken: holdToken(reset) };
  c.state = 'online';
  c.lastTruco = 0;
  c.heldUntil = 0;
  if (c.stormed) {
    stormEpoch = epoch;
    c.onlineAt = Date.now();
  }
}

let failedLogins = 0;
let reconnects = 0;

/**
 * Handshakes to start. A sweep finds every client whose watchdog fired in the same 250 ms (after
 * a restart: thousands), and starting all their handshakes in that one turn of the event loop
 * (an ephemeral key and an X25519 each) stalled this process for up to a second: TRUCOs to the
 * clients already back were read that much later, and counted as the server's drift. Real clients
 * each do their own on their own machine; here they start in slices of at most SLICE_MS of work,
 * the loop reading datagrams between slices.
 */
const SLICE_MS = 4;
const starts: Array<() => void> = [];
let draining = false;
function startSoon(fn: () => void): void {
  starts.push(fn);
  if (!draining) {
    draining = true;
    setImmediate(drainStarts);
  }
}
function drainStarts(): void {
  const until = performance.now() + SLICE_MS;
  let i = 0;
  while (i < starts.length && performance.now() < until) (starts[i++] as () => void)();
  starts.splice(0, i);
  if (starts.length > 0) setImmediate(drainStarts);
  else draining = false;
}

/** Resumes with the ticket, retrying like the session machine (1 s apart) for up to 30 s. */
function reconnect(c: Client): void {
  if (c.state === 'reconnecting') return;
  c.state = 'reconnecting';
  c.live = null;
  reconnects++;
  const deadline = Date.now() + 30_000;
  startSoon(() => void resume(c, deadline));
}

async function resume(c: Client, deadline: number): Promise<void> {
  while (Date.now() < deadline && c.state === 'reconnecting') {
    const r = await connect(c, { kind: 'resume', email: c.email, ticket: c.ticket, peerKey: c.peerKey, ...rosterHeld(c) });
    if (r === 'ok') return;
    if (r === 'ticket_refused') break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  if (c.state === 'reconnecting') {
    c.state = 'failed';
    failedLogins++;
  }
}

async function makeClient(email: string, ticket: Uint8Array): Promise<Client> {
  const udp = await bindUdp({ host: '127.0.0.1', port: 0 });
  const c: Client = {
    email,
    ticket,
    peerKey: randomBytes(32),
    udp,
    desk: new HandshakeDesk(udp, server, TIMING),
    live: null,
    state: 'idle',
    epoch: -1,
    version: -1,
    size: NaN,
    sync: null,
    nextRequest: 0,
    lastTruco: 0,
    quietAt: 0,
    heldUntil: 0,
    onlineAt: 0,
    completeAt: 0,
    stormed: false,
  };
  udp.onMessage((bytes) => onDatagram(c, bytes));
  return c;
}

/** A gate letting at most `perS` callers through a second, evenly spaced (0: no limit). */
function pacer(perS: number): () => Promise<void> {
  if (!(perS > 0)) return () => Promise.resolve();
  const gap = 1000 / perS;
  let last = -Infinity;
  return () => {
    const now = performance.now();
    last = Math.max(now, last + gap);
    const wait = last - now;
    return wait < 1 ? Promise.resolve() : new Promise((res) => setTimeout(res, wait));
  };
}

/** Runs `task` over `items` with at most `concurrency` at once. */
async function pool<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await task(items[i++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

// ---- the sweep: watchdogs and page timeouts -----------------------------------------------------
const sweep = setInterval(() => {
  const now = performance.now();
  for (const c of clients.values()) {
    if (c.state !== 'online') continue;
    if (c.heldUntil > 0) {
      if (now >= c.heldUntil) lost(c, 'held');
      continue;
    }
    if (c.lastTruco > 0 && now - c.lastTruco > (misses + 2) * intervalMs) {
      lost(c, 'silence');
      continue;
    }
    // the quiet link: a SEIS answering no probe, every interval, so a server that lost us (a
    // restart) answers with a STALE and one that moved us hears our new address
    if (c.lastTruco > 0 && now - c.lastTruco >= 2 * intervalMs && now - c.quietAt >= intervalMs) {
      c.quietAt = now;
      sendSeis(c, 0, seisVersion(c));
    }
    if (c.sync && now - c.sync.sentAt > 500) {
      c.sync.sentAt = now;
      sendBody(c, { type: 'ROSTER_REQ', request: c.sync.request, cursor: c.sync.cursor });
    }
  }
}, 250);

// ---- commands ------------------------------------------------------------------------------------
function snapshot(): Record<string, unknown> {
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  let online = 0;
  let failed = 0;
  for (const c of clients.values()) {
    if (c.state === 'online') online++;
    if (c.state === 'failed') failed++;
  }
  return {
    clients: clients.size,
    online,
    failed,
    seconds,
    bytesIn,
    trucos,
    seisSent,
    evicted: [...evicted],
    evictedBefore: before,
    unexpectedLeaves: [...unexpectedLeaves],
    drift: drift.counts,
    cpuPct: (100 * (cpu.user + cpu.system)) / 1e6 / seconds,
    elu: performance.eventLoopUtilization(elu0).utilization,
    resyncs,
    pagesIn,
    reconnects,
    failedLogins,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
    runQueueWaitMs: runQueueWaitMs() - wait0,
  };
}

/** evictions seen before the last reset (the ramp), reported apart */
let before: string[] = [];

function reset(): void {
  before = [...new Set([...before, ...evicted, ...unexpectedLeaves])];
  evicted.clear();
  unexpectedLeaves.clear();
  bytesIn = 0;
  trucos = 0;
  seisSent = 0;
  resyncs = 0;
  pagesIn = 0;
  drift = new Histogram(1, 10_000);
  cpu0 = process.cpuUsage();
  elu0 = performance.eventLoopUtilization();
  loopDelay.reset();
  wait0 = runQueueWaitMs();
  t0 = performance.now();
}

serveRequests(async (m) => {
  switch (m.cmd) {
    case 'init': {
      server = { family: 4, host: String(m.host), port: Number(m.port) };
      serverKey = Buffer.from(String(m.serverKey), 'base64');
      intervalMs = Number(m.intervalMs ?? 1000);
      mode = m.mode === 'full' ? 'full' : 'ramp';
      return {};
    }
    case 'login': {
      // resume with pre-issued tickets: the real handshake, without a password hash per client
      const list = m.clients as Array<{ email: string; ticket: string }>;
      const t = performance.now();
      let ok = 0;
      const errors: Record<string, number> = {};
      let done = 0;
      let retries = 0;
      // at most `ratePerS` logins start per second (none: as fast as `concurrency` allows), so a
      // ramp goes at the rate the server's HELLO admission takes instead of being shed and retried
      const pace = pacer(Number(m.ratePerS ?? 0));
      if (m.deferSync) deferSync = true;
      await pool(list, Number(m.concurrency ?? 32), async ({ email, ticket }) => {
        await pace();
        let r: string;
        try {
          const c = clients.get(email) ?? (await makeClient(email, Buffer.from(ticket, 'base64')));
          clients.set(email, c);
          c.state = 'connecting';
          // like the session machine: an unreachable server is tried again, 1 s later, for 30 s
          const until = Date.now() + 30_000;
          for (;;) {
            r = await connect(c, { kind: 'resume', email, ticket: c.ticket, peerKey: c.peerKey, ...rosterHeld(c) });
            if (r === 'ok' || r === 'ticket_refused' || Date.now() > until) break;
            retries++;
            await new Promise((res) => setTimeout(res, 1000));
          }
          if (r !== 'ok') c.state = 'failed';
        } catch (e) {
          r = e instanceof Error ? e.message : String(e);
        }
        if (r === 'ok') ok++;
        else errors[r] = (errors[r] ?? 0) + 1;
        if (++done % 2000 === 0 && m.progress) process.stderr.write(`    loadgen: ${done}/${list.length} logins, ${ok} ok, ${Math.round((performance.now() - t) / 1000)} s\n`);
      });
      return { ok, failed: list.length - ok, errors, retries, ms: performance.now() - t, at: Date.now() };
    }
    case 'resync': {
      // after a ramp the clients are thousands of deltas behind (20 per probe): start over from
      // the first roster page, `perTick` clients every 50 ms (deferred syncs wait for their turn)
      const list = [...clients.values()].filter((c) => c.state === 'online');
      const perTick = Number(m.perTick ?? 1000);
      for (let i = 0; i < list.length; i += perTick) {
        for (const c of list.slice(i, i + perTick)) {
          c.sync = null;
          startSync(c);
        }
        await new Promise((res) => setTimeout(res, 50));
      }
      deferSync = false;
      return { n: list.length };
    }
    case 'measure':
      measuring = Boolean(m.on);
      return {};
    case 'reset':
      reset();
      return {};
    case 'stats':
      return snapshot();
    case 'versions': {
      // how many clients hold each (epoch, version): lets the driver wait for a settled roster
      const counts: Record<string, number> = {};
      for (const c of clients.values()) if (c.state === 'online') counts[`${c.epoch}:${c.version}:${c.sync ? 'sync' : 'idle'}`] = (counts[`${c.epoch}:${c.version}:${c.sync ? 'sync' : 'idle'}`] ?? 0) + 1;
      return { counts };
    }
    case 'expect': {
      for (const e of m.leaves as string[]) expectedLeaves.add(e);
      return {};
    }
    case 'watch': {
      const kind = m.kind === 'leave' ? 'leave' : 'join';
      watches.set(kind + ':' + String(m.email), { kind, seen: new Set(), arrivals: [] });
      return {};
    }
    case 'watched': {
      const w = watches.get(String(m.kind) + ':' + String(m.email));
      return { arrivals: w?.arrivals ?? [] };
    }
    case 'leave': {
      // BYE from one of ours; resolves when sent
      const c = clients.get(String(m.email));
      if (!c || c.state !== 'online') throw new Error(`${String(m.email)} is not online here`);
      const at = Date.now();
      sendBody(c, { type: 'BYE' });
      c.state = 'closed';
      setTimeout(() => {
        c.live = null;
      }, 200);
      return { at };
    }
    case 'assume': {
      // after a settled ramp: every client at `version` holds the whole roster of `size` users
      let n = 0;
      for (const c of clients.values()) {
        if (c.state === 'online' && c.version === Number(m.version) && c.sync === null) {
          c.size = Number(m.size);
          n++;
        }
      }
      mode = 'full';
      return { n };
    }
    case 'storm': {
      // the server is about to be killed: from now on count the way back
      stormSize = Number(m.size);
      for (const c of clients.values()) {
        c.stormed = true;
        c.onlineAt = 0;
        c.completeAt = 0;
      }
      return {};
    }
    case 'stormStats': {
      const online: number[] = [];
      const complete: number[] = [];
      let failed = 0;
      for (const c of clients.values()) {
        if (!c.stormed) continue;
        if (c.onlineAt > 0) online.push(c.onlineAt);
        if (c.completeAt > 0) complete.push(c.completeAt);
        if (c.state === 'failed') failed++;
      }
      return { online, complete, failed, total: clients.size, stormEpoch };
    }
    case 'plogin': {
      // fresh password logins, `concurrency` at a time, for `seconds`: each on a new socket,
      // then BYE. Counts the logins that ended in a session.
      const emails = m.emails as string[];
      const password = String(m.password);
      const until = performance.now() + Number(m.seconds) * 1000;
      let ok = 0;
      let failed = 0;
      const errors: Record<string, number> = {};
      let next = 0;
      const worker = async () => {
        while (performance.now() < until) {
          const email = emails[next++ % emails.length] as string;
          const c = await makeClient(email, new Uint8Array(48));
          const r = await connect(c, { kind: 'login', email, password, peerKey: c.peerKey });
          if (r === 'ok') {
            ok++;
            sendBody(c, { type: 'BYE' });
            await new Promise((res) => setTimeout(res, 50));
          } else {
            failed++;
            errors[r] = (errors[r] ?? 0) + 1;
          }
          c.live = null;
          await c.udp.close();
        }
      };
      const t = performance.now();
      await Promise.all(Array.from({ length: Number(m.concurrency ?? 8) }, worker));
      return { ok, failed, errors, seconds: (performance.now() - t) / 1000 };
    }
    case 'stop': {
      clearInterval(sweep);
      await profiled?.();
      await Promise.all([...clients.values()].map((c) => c.udp.close()));
      setTimeout(() => process.exit(0), 10);
      return {};
    }
    default:
      throw new Error(`unknown command ${String(m.cmd)}`);
  }
});
