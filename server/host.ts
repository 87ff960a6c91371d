/**
 * The server host: the imperative shell around the registry machine. It owns
 * the UDP socket, the account store, the handshake (stateless until AUTH),
 * the session table and the probe schedule, and turns datagrams into machine
 * events and machine actions into datagrams.
 *
 * Hot path: a healthy user's SEIS only updates `lastLife` in the session
 * table; the user's liveness machine hears only `LIVENESS.MISSED` (after
 * `misses` unanswered probes) and `LIVENESS.LIFE` (an answer while suspect).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { createActor, type Actor, type AnyActorRef, type InspectionEvent } from 'xstate';
import type { PresenceLog } from '../machines/presence.ts';
import { livenessRef, provideRegistry, registryMachine, type UserLeftReason } from '../machines/registry.ts';
// the AUTH and its answer through libsodium when it loads (node:crypto builds a cipher per call)
import * as sodium from '../runtime/crypto/sodium.ts';
import { fingerprint, type KeyPair } from '../runtime/crypto/keys.ts';
import { respond } from '../runtime/crypto/noise.ts';
import { createSession, HANDSHAKE_COUNTER, serverKeys, type SessionCipher } from '../runtime/crypto/session.ts';
import { holdToken, resetKeyOf, resetToken } from '../runtime/crypto/reset.ts';
import { CookieJar, TOKEN_LIFETIME_MS } from '../runtime/crypto/token.ts';
import type { Logger } from '../runtime/log.ts';
import { bindUdp, formatAddress, sameAddress, type Udp } from '../runtime/udp.ts';
import { decodeAuthRequest } from '../runtime/wire/auth-request.ts';
import { encodeAuthResultBody } from '../runtime/wire/auth-result-body.ts';
import { decodeBody, encodeBody } from '../runtime/wire/body.ts';
import { MAX_SESSION_BODY, SESSION_HEADER_SIZE, Type } from '../runtime/wire/constants.ts';
import { encodeKey } from '../runtime/wire/key.ts';
import {
  AUTH_RESULT_AAD,
  decodeOuter,
  encodeAuthResult,
  encodeHold,
  encodeStale,
  encodeWelcome,
  sessionDatagram,
} from '../runtime/wire/outer.ts';
import { buildRosterPage } from '../runtime/wire/roster.ts';
import type { Address, Auth, AuthRequest, AuthResult, Hello, Member, SessionBody, SessionSealed } from '../runtime/wire/types.ts';
import { normalizeEmail } from '../runtime/validate.ts';
import type { AccountStore } from './accounts.ts';
import { createHelloGate, createNudgePacer, createWelcomeCache, holdWaitMs, type NudgePacer } from './admission.ts';
import { openPresenceJournal, type PresenceJournal } from './presence-journal.ts';
import { indexedScheduling } from './actor-scheduler.ts';
import { createHearing } from './hearing.ts';
import { createLateness } from './lateness.ts';
import { createAnswerTime } from './answer-time.ts';
import { createTrucoEncoder } from './probe-cache.ts';
import { createLimiter, type Limiter, DEFAULT_SIGNUPS_PER_HOUR } from './ratelimit.ts';
import { after, createRosterIndex } from './roster-index.ts';

export interface HostOptions {
  host: string;
  port: number;
  store: AccountStore;
  key: KeyPair;
  logger: Logger;
  intervalMs: number;
  misses: number;
  suspectProbes: number;
  suspectIntervalMs: number;
  /** how many password hashes may run at once before AUTHs are dropped (the client retransmits) */
  maxHashing?: number;
  /** XState inspection observer for the registry and its children (`--inspect`); none: no cost */
  inspect?: (event: InspectionEvent) => void;
  now?: () => number;
  /**
   * keep the online list across restarts in this file (presence-journal.ts): a restarted server
   * takes up the same epoch, version and members, so resuming clients page nothing
   */
  presenceFile?: string;
  /** sign-ups a source address may attempt per hour (each costs a password hash); 0: no limit */
  signupsPerHour?: number;
  /** how often `server.stats` is logged (default 10 000 ms) */
  statsIntervalMs?: number;
}

interface Session {
  sid: number;
  email: string;
  address: Address;
  peerKey: Uint8Array;
  cipher: SessionCipher;
  /** the resumption ticket's bytes as a latin1 string (64 bytes of heap; a Uint8Array costs ~400 with its buffer) */
  ticket: string;
  lastLife: number;
  lastProbeAt: number;
  misses: number;
  suspect: boolean;
  /** the number of the last TRUCO sent (regular, re-probe or push) */
  probe: number;
  /** the number of the last regular probe, sent at lastProbeAt */
  lastProbe: number;
  ackEpoch: number;
  ackVersion: number;
  /** the presence version the last TRUCO brought the client to (-1: a resync, nothing to acknowledge) */
  sentVersion: number;
  /** its slot in the probe wheel */
  slot: number;
}

export interface HostStats {
  dropped: Record<string, number>;
  sessions: number;
  handshakes: number;
  answeredCache: number;
}

export interface Host {
  readonly address: Address;
  readonly fingerprint: string;
  readonly epoch: number;
  readonly stats: HostStats;
  readonly udp: Udp;
  /** the registry actor (for the inspector and tests) */
  readonly registry: Actor<typeof registryMachine>;
  /** tells every client, then stops */
  stop(): Promise<void>;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** HOLDs sent per turn of the event loop after a restart (10 000 took 0.4-0.6 s in all, reading in between) */
const HOLD_SLICE = 500;

export async function startHost(opts: HostOptions): Promise<Host> {
  const now = opts.now ?? Date.now;
  const log = opts.logger;
  // a STALE carries a token only this server's static key can make (PROTOCOL.md §2.6)
  const resetKey = resetKeyOf(opts.key);
  const udp = await bindUdp({ host: opts.host, port: opts.port, recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  const journal: PresenceJournal | null = opts.presenceFile ? openPresenceJournal(opts.presenceFile, { now }) : null;
  const epoch = journal?.epoch ?? randomInt(0, 0xffffffff);
  const cookies = new CookieJar(now());
  const limiter: Limiter = createLimiter({ now });
  // every sign-up attempt costs a password hash and may add an account: bounded per address
  const signupsPerHour = opts.signupsPerHour ?? DEFAULT_SIGNUPS_PER_HOUR;
  const signups: Limiter | null = signupsPerHour > 0 ? createLimiter({ maxFailures: signupsPerHour, windowMs: 3_600_000, now }) : null;
  // a HELLO flood from one machine must not starve everyone else's logins (server/admission.ts)
  const helloGate = createHelloGate();
  const welcomes = createWelcomeCache();
  const maxHashing = opts.maxHashing ?? 64;

  const sessions = new Map<number, Session>();
  const byEmail = new Map<string, Session>();
  /** handshake hash → sealed AUTH_RESULT, so a retransmitted AUTH gets the same answer */
  const answered = new Map<string, { reply: Uint8Array; expires: number }>();
  const inflight = new Set<string>();
  /** sign-ups and logins waiting for their password hash */
  let hashing = 0;
  /** EWMA of one hash's service time (ms), learnt from each hash's latency and the queue ahead of it */
  let hashServiceMs = 400;
  // Password hashes run one fewer at a time than there are cores (at least one), queued here
  // rather than on the libuv pool: scrypt is CPU- and memory-bound, and four of them on a 2-core
  // machine left the event loop a fraction of a core, delaying probes by 180 ms.
  const HASH_THREADS = Math.max(1, Math.min(Number(process.env.UV_THREADPOOL_SIZE) || 4, availableParallelism() - 1));
  let hashRunning = 0;
  const hashQueue: Array<() => void> = [];
  const hashSlot = (): Promise<void> => {
    if (hashRunning < HASH_THREADS) {
      hashRunning++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => hashQueue.push(resolve));
  };
  const hashSlotDone = (): void => {
    const next = hashQueue.shift();
    if (next) next(); // the slot passes straight on
    else hashRunning--;
  };
  const AUTH_PATIENCE_MS = 5000;
  const hashWaitMs = () => (Math.floor(hashing / HASH_THREADS) + 1) * hashServiceMs;
  const noteHash = (latencyMs: number, ahead: number) => {
    const service = latencyMs / (Math.floor(ahead / HASH_THREADS) + 1);
    hashServiceMs = 0.7 * hashServiceMs + 0.3 * Math.max(1, service);
  };
  const ANSWERED_MAX = 100_000;
  const dropped: Record<string, number> = {};
  const stats: HostStats = { dropped, sessions: 0, handshakes: 0, answeredCache: 0 };
  const drop = (why: string) => {
    dropped[why] = (dropped[why] ?? 0) + 1;
  };

  // ---- sending ------------------------------------------------------------------
  function sendBody(s: Session, body: SessionBody): void {
    const encoded = encodeBody(body);
    if (encoded.isErr()) {
      log.error('encode.failed', { what: body.type, reason: encoded.error.reason });
      return;
    }
    sendEncoded(s, encoded.value.code, encoded.value.bytes);
  }

  function sendEncoded(s: Session, code: number, body: Uint8Array): void {
    const counter = s.cipher.tx.takeNumber();
    if (counter < 0) {
      log.warn('session.counter_exhausted', { email: s.email });
      return;
    }
    // one slice of Node's 8 KB pool for the whole datagram, sealed in place after its header: a
    // datagram lives until the kernel takes it (at once, nearly always), and an ArrayBuffer of its
    // own (or three buffers: header, sealed part, both) per datagram costs allocations and GC work
    // for each of 20 000 probes a second and every client of a push
    const out = sessionDatagram(code, s.sid, counter, body.length);
    s.cipher.tx.sealAfter(counter, out, SESSION_HEADER_SIZE, body);
    udp.send(out, s.address);
  }

  // TRUCO bodies are shared between the clients at the same acknowledged version (probe-cache.ts)
  const trucos = createTrucoEncoder(MAX_SESSION_BODY);
  function sendTruco(s: Session): void {
    const presence = registry.getSnapshot().context.presence;
    const w = trucos.window(presence, s.ackEpoch === epoch ? s.ackVersion : -1);
    s.probe = (s.probe + 1) >>> 0;
    s.sentVersion = w.resync ? -1 : w.version;
    sendEncoded(s, Type.TRUCO, trucos.body(w, s.probe, epoch));
  }

  function removeSession(s: Session): void {
    wheel[s.slot]?.delete(s);
    sessions.delete(s.sid);
    if (byEmail.get(s.email) === s) byEmail.delete(s.email);
    stats.sessions = sessions.size;
  }

  // ---- the registry and its liveness children -------------------------------------
  // stopping a liveness actor must not scan every suspect user's pending re-probe (actor-scheduler.ts)
  const scheduling = indexedScheduling();
  const registry = createActor(
    provideRegistry({
      reprobe: (email) => {
        const s = byEmail.get(email);
        if (s) sendTruco(s);
      },
      recovered: (email) => log.info('liveness.recovered', { email }),
      userLeft: (email: string, reason: UserLeftReason) => {
        log.info('user.left', { email, reason });
        if (reason !== 'offline') return;
        const s = byEmail.get(email);
        if (!s) return;
        // Best effort: a client that is only partitioned learns it and resumes with its ticket.
        sendBody(s, { type: 'KICK', reason: 'dropped' });
        removeSession(s);
      },
    }),
    {
      input: { epoch, suspectProbes: opts.suspectProbes, suspectIntervalMs: opts.suspectIntervalMs },
      clock: scheduling.clock,
      ...(opts.inspect ? { inspect: opts.inspect } : {}),
    },
  );
  scheduling.install(registry.system);
  registry.subscribe({ error: (e) => log.error('registry.error', { error: String(e) }) });
  registry.start();

  // ---- a restart: take up the online list where the last run left it --------------------------
  // Each restored user whose client does not resume within the grace (its watchdog, 4 intervals,
  // plus `misses`) is treated as silent: its liveness actor hears LIVENESS.MISSED and, with no
  // answer, goes offline the usual way (a LEAVE for everyone). A STALE to each restored session
  // (paced) makes the clients resume at once instead of waiting for their watchdog; a nudged
  // user's grace runs from its nudge, twice as long (its client may meet a storm of resumes),
  // so a slow storm does not turn into LEAVEs and JOINs for everyone.
  const ghosts = new Map<string, { sid: number; address: Address; until: number }>();
  /** a restored session to nudge; its reset token is made once, for its HOLD and its STALEs */
  type Target = { email: string; sid: number; address: Address; reset?: Uint8Array };
  let nudges: NudgePacer<Target> | null = null;
  let nudgeTimer: NodeJS.Timeout | null = null;
  let holdTimer: NodeJS.Immediate | null = null;
  if (journal?.restored && journal.restored.members.size > 0) {
    const r = journal.restored;
    registry.send({ type: 'PRESENCE.RESTORE', version: r.version, members: [...r.members.values()] });
    const grace = (4 + opts.misses) * opts.intervalMs;
    const targets: Target[] = [];
    const resetOf = (n: Target): Uint8Array => (n.reset ??= resetToken(resetKey, n.sid));
    for (const m of r.members.values()) {
      const sid = r.sids.get(m.email) ?? 0;
      ghosts.set(m.email, { sid, address: m.address, until: sid !== 0 ? Infinity : now() + grace });
      if (sid !== 0) targets.push({ email: m.email, sid, address: m.address });
    }
    log.info('presence.restored', { members: r.members.size, version: r.version, downMs: Math.round(r.ageMs) });
    // self-clocked (admission.ts): as many nudged clients in flight as the HELLO gate answers in
    // a fifth of a second, each resume making room for the next; every 20 ms at most what the gate
    // answers in that time, so the resumes arrive smoothly. The socket's queue is the only buffer
    // in front of a busy server: with half a second's worth in flight (and a nudge written off
    // after 1 s) the queue grew past the clients' 250 ms retransmission timers, their copies
    // filled it and it dropped thousands of datagrams a second, AUTHs among them; a fifth keeps
    // it short, and a nudge is written off only after 3 s (README, Performance: the storm).
    const pacer = createNudgePacer(targets, { window: () => Math.max(50, helloGate.ratePerSec / 5), timeoutMs: 3000 });
    nudges = pacer;
    // Before the nudges, a HOLD to every restored session (PROTOCOL.md §2.7): "wait for your
    // STALE", with a wait that grows with its place in the queue. Without it, the clients not yet
    // nudged when their watchdogs fire all knock at once (HELLOs every 250 ms each), and the
    // server's socket queue overflows with them and with the quiet link's SEIS, losing the AUTHs
    // of the clients it is admitting. Sent in slices, so the loop keeps reading meanwhile.
    const rate = helloGate.ratePerSec;
    let held = 0;
    const hold = () => {
      holdTimer = null;
      for (const end = Math.min(targets.length, held + HOLD_SLICE); held < end; held++) {
        const n = targets[held] as Target;
        if (!ghosts.has(n.email)) continue;
        udp.send(encodeHold(n.sid, holdToken(resetOf(n)), holdWaitMs(held, rate)), n.address);
      }
      if (held < targets.length) holdTimer = setImmediate(hold);
      else log.info('hold.sent', { n: held, ms: Math.round(performance.now() - holdT0) });
    };
    const holdT0 = performance.now();
    hold();
    const nudge = () => {
      nudgeTimer = null;
      const t = now();
      for (const n of pacer.due(t, Math.max(5, helloGate.ratePerSec / 50))) {
        const g = ghosts.get(n.email);
        if (g) g.until = t + 2 * grace;
        udp.send(encodeStale(n.sid, resetOf(n)), n.address);
      }
      if (pacer.waiting > 0) nudgeTimer = setTimeout(nudge, 20);
      // all nudged, and the second round owes nobody: the pacer and its 10 000 targets can go
      else if (nudges === pacer) nudges = null;
    };
    nudge();
  }
  function expireGhosts(t: number): void {
    if (ghosts.size === 0) return;
    for (const [email, g] of ghosts) {
      if (g.until > t) continue;
      ghosts.delete(email);
      child(email)?.send({ type: 'LIVENESS.MISSED' });
    }
  }

  // A presence change is pushed at once (coalesced within a turn of the event loop), at most
  // once per interval; between pushes the deltas ride on the regular probes. A push is repeated
  // every PUSH_REPEAT_MS (or the suspect interval if shorter), up to PUSH_REPEATS times, to the
  // clients that have not acknowledged it in a SEIS, so one lost datagram does not delay a LEAVE
  // by a whole interval (with 50 clients at 10 % loss, someone loses almost every push).
  const PUSH_REPEATS = 4;
  const PUSH_REPEAT_MS = Math.min(100, opts.suspectIntervalMs);
  // …but no sooner than the clients' answers take to come back (answer-time.ts), and within half
  // an interval (the next probe carries the deltas anyway)
  const answerTime = createAnswerTime(PUSH_REPEAT_MS, Math.max(PUSH_REPEAT_MS, opts.intervalMs / 2));
  let lastPush = 0;
  let pushTimer: NodeJS.Timeout | null = null;
  let repushTimer: NodeJS.Timeout | null = null;
  let seenVersion = registry.getSnapshot().context.presence.version;
  // A push to 20 000 clients takes a few hundred ms: it goes out in chunks, letting the event loop
  // read answers and run the probe wheel in between.
  const PUSH_CHUNK = 512;
  /**
   * Sends a TRUCO to every client that one TRUCO brings up to date (`again`: to every client that has
   * not acknowledged what the last TRUCO brought it, i.e. whose push or answer was lost; a client
   * that acknowledged it and is only behind because more deltas came than fit catches up with the
   * next push or probe), then calls `done` with how many were sent.
   */
  const pushPending = (again: boolean, done: (sent: number) => void): void => {
    const list = [...sessions.values()];
    let i = 0;
    let n = 0;
    const step = () => {
      const version = registry.getSnapshot().context.presence.version;
      for (const end = Math.min(list.length, i + PUSH_CHUNK); i < end; i++) {
        const s = list[i] as Session;
        if (sessions.get(s.sid) !== s) continue; // gone meanwhile
        let behind: boolean;
        if (again) behind = s.sentVersion >= 0 && (s.ackEpoch !== epoch || s.ackVersion < s.sentVersion);
        else if (s.ackEpoch !== epoch || s.ackVersion === version) behind = false;
        else {
          // only when one TRUCO brings the client up to date: a client further behind (a join
          // storm) catches up on its regular probes, or a storm would double every client's
          // presence traffic exactly when the server is busiest
          const w = trucos.window(registry.getSnapshot().context.presence, s.ackVersion);
          behind = !w.resync && w.version === version;
        }
        if (behind) {
          sendTruco(s);
          n++;
        }
      }
      if (i < list.length) setImmediate(step);
      else done(n);
    };
    step();
  };
  const repush = (left: number) => {
    if (repushTimer) clearTimeout(repushTimer);
    repushTimer = setTimeout(() => {
      repushTimer = null;
      if (pushTimer) return; // a newer push is on its way
      pushPending(true, (n) => {
        if (n > 0 && left > 1 && !pushTimer) repush(left - 1);
      });
    }, answerTime.wait());
  };
  const push = () => {
    pushTimer = null;
    lastPush = now();
    pushPending(false, (n) => {
      if (n > 0 && !pushTimer) repush(PUSH_REPEATS);
    });
  };
  registry.subscribe((snap) => {
    // persisted before anything can show the new version (a TRUCO, a ROSTER_PAGE)
    journal?.record(snap.context.presence);
    const v = snap.context.presence.version;
    if (v === seenVersion) return;
    seenVersion = v;
    if (pushTimer) return;
    const wait = Math.max(0, lastPush + opts.intervalMs - now());
    pushTimer = setTimeout(push, wait);
  });

  const child = (email: string): AnyActorRef | undefined => livenessRef(registry.getSnapshot(), email);

  // ---- probes -----------------------------------------------------------------------
  // A timer wheel: each session has a slot, and every interval / SLOTS ms the next slot's
  // sessions are probed, so each session is still probed once per interval but the probes (and
  // their answers) are spread evenly over the interval instead of leaving in one burst of N
  // datagrams (20 000 at once overflow the socket buffers and stall the event loop for the
  // length of the burst).
  const SLOTS = Math.max(1, Math.round(opts.intervalMs / Math.max(5, Math.min(20, Math.floor(opts.intervalMs / 50)))));
  const slotMs = opts.intervalMs / SLOTS;
  const wheel: Array<Set<Session>> = Array.from({ length: SLOTS }, () => new Set<Session>());
  /** round robin, so sessions that log in together still spread over the interval */
  let placed = 0;
  let cursor = 0;
  let due = now() + slotMs;
  let wheelTimer: NodeJS.Timeout | null = null;

  /** how late the regular probes leave, for the stats (lateness.ts) */
  const probeLateness = createLateness();
  // whether the server reads its answers in time to judge anyone's silence (hearing.ts)
  const hearing = createHearing();
  /** probe slots whose misses were not counted (the server was late or deaf), for the stats */
  let unjudged = 0;

  function probeSlot(slot: Set<Session>, t: number, late: boolean): void {
    // a slot run late by half an interval or more (a stalled loop) may not have read its answers yet
    const judge = !late && !hearing.deaf;
    if (!judge && slot.size > 0) unjudged++;
    for (const s of slot) {
      if (judge && s.lastProbeAt > 0 && s.lastLife < s.lastProbeAt) {
        s.misses++;
        if (s.misses >= opts.misses && !s.suspect) {
          s.suspect = true;
          log.info('liveness.suspect', { email: s.email, misses: s.misses });
          child(s.email)?.send({ type: 'LIVENESS.MISSED' });
        }
      }
      s.lastProbeAt = t;
      sendTruco(s);
      s.lastProbe = s.probe;
    }
  }

  function expireAnswered(t: number): void {
    if (answered.size === 0) return;
    for (const [k, v] of answered) {
      if (v.expires > t) break;
      answered.delete(k);
    }
    stats.answeredCache = answered.size;
  }

  function turn(): void {
    const t = now();
    for (let k = 0; k < SLOTS && due <= t; k++) {
      const slot = wheel[cursor] as Set<Session>;
      probeLateness.add(t - due, slot.size);
      probeSlot(slot, t, t - due >= opts.intervalMs / 2);
      cursor = (cursor + 1) % SLOTS;
      if (cursor === 0) {
        hearing.round();
        trucos.sweep();
        expireAnswered(t);
        expireGhosts(t);
      }
      due += slotMs;
    }
    // more than a whole interval late (a stalled process): start the next round from now
    if (due <= t) due = t + slotMs;
    wheelTimer = setTimeout(turn, Math.max(1, due - now()));
  }
  wheelTimer = setTimeout(turn, slotMs);

  // how late the event loop ran in the last 10 s: a stalled loop reads answers late (false misses)
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const statsTimer = setInterval(() => {
    const loopMaxMs = Math.round(loopDelay.max / 1e6);
    loopDelay.reset();
    // memory in MB (what rss_per_user_kb is made of: the JS heap, Buffers outside it, the rest)
    const mu = process.memoryUsage();
    const mb = (b: number) => Math.round(b / 1e5) / 10;
    const spaces = getHeapSpaceStatistics();
    const young = spaces.find((sp) => sp.space_name === 'new_space');
    const mem = { rss: mb(mu.rss), heapTotal: mb(mu.heapTotal), heapUsed: mb(mu.heapUsed), newSpace: mb(young?.space_size ?? 0), newSpaceResident: mb(young?.physical_space_size ?? 0), heapResident: mb(spaces.reduce((a, sp) => a + sp.physical_space_size, 0)), external: mb(mu.external), arrayBuffers: mb(mu.arrayBuffers) };
    const probeLateMs = probeLateness.summary();
    probeLateness.reset();
    log.info('server.stats', { sessions: sessions.size, handshakes: stats.handshakes, loopMaxMs, probeLateMs, unjudged, dropped, mem });
  }, opts.statsIntervalMs ?? 10_000);
  statsTimer.unref();
  // the journal's mtime tells a restarted server how long it was down
  const touchTimer = journal ? setInterval(() => journal.touch(), 5000) : null;
  touchTimer?.unref();

  function life(s: Session, from: Address): void {
    s.lastLife = now();
    s.misses = 0;
    if (s.suspect) {
      s.suspect = false;
      child(s.email)?.send({ type: 'LIVENESS.LIFE' });
    }
    if (!sameAddress(s.address, from)) {
      log.info('session.moved', { email: s.email, from: formatAddress(s.address), to: formatAddress(from) });
      s.address = from;
      registry.send({ type: 'USER.MOVE', email: s.email, address: from });
    }
  }

  // ---- handshake ----------------------------------------------------------------------
  function onHello(msg: Hello, from: Address): void {
    const t = now();
    // a retransmitted HELLO gets the WELCOME already made for it (admission.ts)
    const key = `${from.host}|${from.port}|${Buffer.from(msg.noise).toString('base64')}`;
    const again = welcomes.get(key, t);
    if (again === 'spent') return drop('hello.spent');
    if (again) return void udp.send(again, from);
    if (!helloGate.admit(from.host, t)) return drop('hello.shed');
    const t0 = performance.now();
    const r = respond(opts.key, msg.noise, ({ split, hash }) => cookies.seal(t, from, split, hash));
    // the gate charges what a HELLO really costs here (admission.ts)
    helloGate.spent(performance.now() - t0);
    if (r.isErr()) return drop('hello.' + r.error.reason);
    const out = encodeWelcome(r.value.message);
    if (out.isErr()) return drop('welcome.encode');
    stats.handshakes++;
    welcomes.set(key, out.value, t);
    udp.send(out.value, from);
  }

  async function onAuth(msg: Auth, from: Address): Promise<void> {
    const t = now();
    const opened = cookies.open(t, from, msg.token);
    if (opened.isErr()) return drop('auth.' + opened.error.type);
    const { split, hash } = opened.value;
    const id = hex(hash);
    const cached = answered.get(id);
    if (cached) {
      udp.send(cached.reply, from);
      return;
    }
    if (inflight.has(id)) return;
    const plain = sodium.open(split.cs, HANDSHAKE_COUNTER, msg.aad, msg.sealed);
    if (plain === null) return drop('auth.decrypt');
    const req = decodeAuthRequest(plain);
    if (req.isErr()) return drop('auth.malformed');
    // Sign-ups and logins wait for a password hash; a resume does not, and never queues behind them.
    const hashes = req.value.kind !== 'resume';
    if (hashes) {
      if (hashing >= maxHashing) return drop('auth.busy');
      // The client gives up 8 s after its HELLO, or 5 s after the WELCOME if that is later
      // (PROTOCOL.md §3). Work it cannot wait for would only delay everyone after it (a storm of
      // sign-ups on a busy machine collapses otherwise).
      if (t - opened.value.issuedAt + hashWaitMs() > AUTH_PATIENCE_MS) return drop('auth.late');
    }
    inflight.add(id);
    const ahead = hashing;
    if (hashes) hashing++;
    let result: AuthResult;
    if (hashes) await hashSlot();
    try {
      result = await runAuth(req.value, from, split);
    } catch (e) {
      log.error('auth.failed', { error: String(e) });
      result = { status: 'server_error' };
    } finally {
      inflight.delete(id);
      if (hashes) {
        hashSlotDone();
        hashing--;
        noteHash(now() - t, ahead);
      }
    }
    const body = encodeAuthResultBody(result);
    if (body.isErr()) return drop('auth_result.encode');
    const sealed = sodium.seal(split.sc, HANDSHAKE_COUNTER, AUTH_RESULT_AAD, body.value);
    const reply = encodeAuthResult(sealed);
    if (reply.isErr()) return drop('auth_result.encode');
    if (answered.size >= ANSWERED_MAX) {
      const oldest = answered.keys().next();
      if (!oldest.done) answered.delete(oldest.value);
    }
    answered.set(id, { reply: reply.value, expires: t + TOKEN_LIFETIME_MS });
    udp.send(reply.value, from);
  }

  async function runAuth(req: AuthRequest, from: Address, split: { cs: Uint8Array; sc: Uint8Array }): Promise<AuthResult> {
    if (req.kind === 'signup') {
      const source = 'addr:' + from.host;
      const v = signups?.check(source);
      if (v && !v.ok) {
        log.info('signup.rate_limited', { address: from.host, retryAfterS: v.retryAfterS });
        return { status: 'rate_limited', retryAfterS: v.retryAfterS };
      }
      signups?.fail(source); // every attempt counts, whatever its outcome
      const r = await opts.store.signUp(req.email, req.password);
      if (r.isOk()) {
        log.info('account.created', { email: r.value });
        return { status: 'signed_up' };
      }
      switch (r.error.type) {
        case 'EmailTaken': return { status: 'email_taken' };
        case 'InvalidEmail': return { status: 'invalid_email' };
        case 'WeakPassword': return { status: 'weak_password', minLength: r.error.minLength };
        default: return { status: 'server_error' };
      }
    }
    const addrKey = 'addr:' + from.host;
    const normalized = normalizeEmail(req.email);
    if (normalized.isErr()) return { status: req.kind === 'login' ? 'invalid_email' : 'ticket_refused' };
    const emailKey = 'email:' + normalized.value;
    if (req.kind === 'login') {
      for (const k of [emailKey, addrKey]) {
        const v = limiter.check(k);
        if (!v.ok) {
          log.info('login.rate_limited', { address: from.host, retryAfterS: v.retryAfterS });
          return { status: 'rate_limited', retryAfterS: v.retryAfterS };
        }
      }
      const r = await opts.store.verifyLogin(req.email, req.password);
      if (r.isErr()) {
        limiter.fail(emailKey);
        limiter.fail(addrKey);
        log.info('login.refused', { reason: r.error.type, address: from.host });
        switch (r.error.type) {
          case 'UnknownEmail': return { status: 'unknown_email' };
          case 'WrongPassword': return { status: 'wrong_password' };
          case 'InvalidEmail': return { status: 'invalid_email' };
          default: return { status: 'server_error' };
        }
      }
      limiter.reset(emailKey);
      const ticket = opts.store.issueTicket(r.value);
      if (ticket.isErr()) return { status: 'server_error' };
      return openSession(r.value, from, split, req.peerKey, ticket.value, 'login');
    }
    // resume
    const email = normalized.value;
    const r = opts.store.redeemTicket(email, req.ticket);
    if (r.isErr()) {
      log.info('resume.refused', { email, reason: r.error.type });
      return { status: 'ticket_refused' };
    }
    return openSession(email, from, split, req.peerKey, req.ticket, 'resume', { epoch: req.epoch, version: req.version });
  }

  // session ids come from a pool of random bytes: randomBytes(4) per session was ~20 µs of a
  // resume in a restart storm (ids are in clear on the wire; they need only be unpredictable)
  let sidPool = Buffer.alloc(0);
  let sidAt = 0;
  function newSid(): number {
    for (;;) {
      if (sidAt + 4 > sidPool.length) {
        sidPool = randomBytes(4096);
        sidAt = 0;
      }
      const sid = sidPool.readUInt32BE(sidAt);
      sidAt += 4;
      if (sid !== 0 && !sessions.has(sid)) return sid;
    }
  }

  function openSession(
    email: string,
    from: Address,
    split: { cs: Uint8Array; sc: Uint8Array },
    peerKey: Uint8Array,
    ticket: Uint8Array,
    how: 'login' | 'resume',
    /** the roster a resuming client says it holds */
    held?: { epoch: number; version: number },
  ): AuthResult {
    const old = byEmail.get(email);
    if (old) {
      if (how === 'login') {
        // Logging in again from elsewhere replaces the old session and revokes its ticket.
        sendBody(old, { type: 'KICK', reason: 'elsewhere' });
        opts.store.revokeTicket(Buffer.from(old.ticket, 'latin1'));
        log.info('session.replaced', { email, by: 'login' });
      }
      removeSession(old);
    }
    const t = now();
    const s: Session = {
      sid: newSid(),
      email,
      address: from,
      peerKey: Uint8Array.from(peerKey),
      cipher: createSession(serverKeys(split)),
      ticket: Buffer.from(ticket.buffer, ticket.byteOffset, ticket.length).toString('latin1'),
      lastLife: t,
      lastProbeAt: 0,
      misses: 0,
      suspect: false,
      probe: 0,
      lastProbe: 0,
      ackEpoch: -1,
      ackVersion: -1,
      sentVersion: -1,
      slot: placed++ % SLOTS,
    };
    wheel[s.slot]?.add(s);
    sessions.set(s.sid, s);
    ghosts.delete(email);
    nudges?.resumed(email);
    journal?.session(email, s.sid);
    byEmail.set(email, s);
    stats.sessions = sessions.size;
    const member: Member = { email, address: from, peerKey: s.peerKey };
    // (a resumed or re-logged user who was suspect is made alive again by the registry)
    registry.send({ type: 'USER.JOIN', member });
    // A resuming client's roster counts as acknowledged, when it is of this epoch and the delta log
    // still reaches back to it: the first TRUCO brings the deltas since (its own JOIN among them)
    // instead of a resync, which would make it page the whole roster again. Without this, any
    // change during a restart storm sent every client that resumed after it paging.
    const presence = registry.getSnapshot().context.presence;
    if (held && held.epoch === epoch && held.version >= presence.logStart && held.version <= presence.version) {
      s.ackEpoch = epoch;
      s.ackVersion = held.version;
    }
    log.info('session.opened', { email, how, address: formatAddress(from), sid: s.sid });
    return { status: 'session', sid: s.sid, ticket, resetToken: resetToken(resetKey, s.sid), intervalMs: opts.intervalMs, misses: opts.misses, epoch, address: from };
  }

  // ---- session datagrams ------------------------------------------------------------
  let staleBudget = 0;
  let staleRefill = now();
  function sendStale(sid: number, to: Address): void {
    const t = now();
    staleBudget = Math.min(200, staleBudget + ((t - staleRefill) / 1000) * 200);
    staleRefill = t;
    if (staleBudget < 1) return drop('stale.budget');
    staleBudget--;
    udp.send(encodeStale(sid, resetToken(resetKey, sid)), to);
  }

  // the online emails in order, kept in step with the presence log (roster-index.ts)
  const roster = createRosterIndex();
  function* page(presence: PresenceLog, emails: readonly string[], start: number): Iterable<Member> {
    for (let i = start; i < emails.length; i++) {
      const m = presence.members.get(emails[i] as string);
      if (m) yield m;
    }
  }

  function onSession(msg: SessionSealed, addr: Address): void {
    const s = sessions.get(msg.sid);
    if (!s) {
      drop('session.unknown');
      sendStale(msg.sid, addr);
      return;
    }
    const plain = s.cipher.rx.open(msg.counter, msg.aad, msg.sealed);
    if (plain.isErr()) return drop('session.' + plain.error.type);
    const body = decodeBody(msg.code, plain.value);
    if (body.isErr()) return drop('session.malformed');
    life(s, addr);
    const b = body.value;
    switch (b.type) {
      case 'SEIS': {
        // late: half an interval after its probe, or answering an older probe than the last
        // probe 0 is a quiet client's keepalive (PROTOCOL.md §5): it answers no probe
        const age = (s.lastProbe - b.probe) | 0;
        if (b.probe !== 0) hearing.answer(age > 0 || (age === 0 && now() - s.lastProbeAt > opts.intervalMs / 2));
        if (b.probe !== 0 && age === 0 && s.lastProbeAt > 0) answerTime.note(now() - s.lastProbeAt);
        const version = registry.getSnapshot().context.presence.version;
        if (b.epoch === epoch && b.version >= s.ackVersion && b.version <= version) {
          s.ackEpoch = epoch;
          s.ackVersion = b.version;
        }
        return;
      }
      case 'ROSTER_REQ': {
        const presence = registry.getSnapshot().context.presence;
        const emails = roster.sorted(presence);
        if (b.cursor === '') {
          // The client rebuilds from this version on: deltas from here ride on the next probes.
          s.ackEpoch = epoch;
          s.ackVersion = presence.version;
        }
        const start = b.cursor === '' ? 0 : after(emails, b.cursor);
        const built = buildRosterPage({ request: b.request, epoch, version: presence.version, members: page(presence, emails, start) });
        if (built.isErr()) return drop('roster.page');
        sendBody(s, built.value);
        return;
      }
      case 'BYE': {
        sendBody(s, { type: 'BYE_ACK' });
        opts.store.revokeTicket(Buffer.from(s.ticket, 'latin1'));
        removeSession(s);
        registry.send({ type: 'USER.LEAVE', email: s.email, reason: 'logout' });
        log.info('session.closed', { email: s.email, how: 'logout' });
        return;
      }
      default:
        return drop('session.unexpected');
    }
  }

  // ---- dispatch ------------------------------------------------------------------------
  udp.onMessage((bytes, addr) => {
    const outer = decodeOuter(bytes);
    if (outer.isErr()) return drop('wire.' + outer.error.reason);
    const m = outer.value;
    switch (m.type) {
      case 'HELLO': return onHello(m, addr);
      case 'AUTH': {
        onAuth(m, addr).catch((e) => log.error('auth.crashed', { error: String(e) }));
        return;
      }
      case 'SESSION': return onSession(m, addr);
      case 'KEY_REQ': {
        udp.send(encodeKey(opts.key.publicKey), addr);
        return;
      }
      default:
        return drop('wire.direction');
    }
  });

  return {
    address: udp.address,
    fingerprint: fingerprint(opts.key.publicKey),
    epoch,
    stats,
    udp,
    registry,
    async stop() {
      if (wheelTimer) clearTimeout(wheelTimer);
      wheelTimer = null;
      for (const slot of wheel) slot.clear();
      clearInterval(statsTimer);
      loopDelay.disable();
      if (touchTimer) clearInterval(touchTimer);
      if (nudgeTimer) clearTimeout(nudgeTimer);
      if (holdTimer) clearImmediate(holdTimer);
      if (pushTimer) clearTimeout(pushTimer);
      if (repushTimer) clearTimeout(repushTimer);
      for (const s of sessions.values()) sendBody(s, { type: 'KICK', reason: 'shutdown' });
      sessions.clear();
      byEmail.clear();
      registry.stop();
      // Give the kernel a moment to flush the KICKs before the socket goes.
      await new Promise((r) => setTimeout(r, 20));
      await udp.close();
      journal?.touch();
      journal?.close();
    },
  };
}
