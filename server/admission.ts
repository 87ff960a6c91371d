/**
 * Admission of HELLOs, and the pace of the STALE nudges after a restart.
 *
 * A HELLO is the one datagram a stranger can make the server work hard for (a key generation,
 * two X25519 and a sealed token), so a flood of them would otherwise starve probes and
 * everyone's logins. But the same work is what a legitimate storm needs — 10 000 clients
 * resuming after a restart — so the gate is sized by what a HELLO really costs, not by a fixed
 * count: HELLOs may take at most `share` of the event loop's time, sustained, with bursts of
 * `burstMs` of work back to back (a token bucket counted in milliseconds). The server measures
 * each answered HELLO (`spent`) and the gate charges that; the admitted rate follows
 * (`share` × 1000 / cost: about 1 000–2 500 a second on the reference machine with libsodium, fewer on a
 * loaded one, never more than the loop can spare). The rest of the loop — probes, SEIS,
 * AUTHs, everything else — keeps at least 1 − `share` whatever arrives.
 *
 * The share stays 0.5. A share of 0.3 (a HELLO is about a third of what a resume costs) looked
 * better in single 10 000-client restart storms, but in runs taken in turns on the same code
 * 0.5 was as fast or faster: 11.9, 12.4, 12.5 s against 13.1, 13.6, 16.5 s.
 *
 * While the bucket is less than half full (the server is under pressure), a source address
 * (IPv4, or the /64 of an IPv6 one) that already sent more than its fair share of HELLOs in the
 * current second (the rate / sources seen, at least `perSourcePerSec`) is refused, and a source's
 * first `perSourcePerSec` HELLOs of a second may take the bucket into debt (half a burst at most):
 * a flooding machine cannot take the time a newcomer needs, while a lone busy source (a NAT, a
 * bench, a restart storm from one host) still gets the whole rate. Refused HELLOs cost a decode
 * and a hash: microseconds.
 *
 * No per-sender state grows: the per-source counts live in a fixed table of `slots` counters
 * indexed by a hash of the source under a random key (so a flood cannot be aimed at someone's
 * slot), cleared every second. Sources sharing a slot share a count: the price of bounded memory.
 */
import { randomInt } from 'node:crypto';
import { HOLD_MAX_WAIT_MS } from '../runtime/wire/constants.ts';

export interface HelloGateOptions {
  /** the share of the event loop HELLOs may take, sustained (default 0.5) */
  share?: number;
  /** the most HELLO work answered back to back, ms (default 100) */
  burstMs?: number;
  /** what a HELLO costs before any is measured, ms (default 0.5); then learnt from `spent` */
  costMs?: number;
  /** under pressure, the least share of HELLOs per second a source address gets (default 5) */
  perSourcePerSec?: number;
  /** size of the counter table (default 4096) */
  slots?: number;
  /** the secret key of the slot hash (default random; fixed only in tests) */
  seed?: number;
}

export interface HelloGate {
  /** whether to answer a HELLO from `host` arriving at `now` (ms) */
  admit(host: string, now: number): boolean;
  /** how long (ms) the HELLO just admitted took to answer: the gate charges that instead of its estimate */
  spent(ms: number): void;
  /** HELLOs refused so far */
  readonly shed: number;
  /** the current estimate of a HELLO's cost, ms */
  readonly costMs: number;
  /** the sustained rate that estimate allows, HELLOs a second */
  readonly ratePerSec: number;
}

/** bounds on the learnt cost: a measurement cannot open the gate wide, nor one slow HELLO shut it */
const MIN_COST_MS = 0.05;
const MAX_COST_MS = 20;
/** weight of each new measurement in the running estimate */
const LEARN = 0.05;

export function createHelloGate(opts: HelloGateOptions = {}): HelloGate {
  const share = Math.min(1, Math.max(0.01, opts.share ?? 0.5));
  const burstMs = Math.max(1, opts.burstMs ?? 100);
  const perSource = opts.perSourcePerSec ?? 5;
  const slots = opts.slots ?? 4096;
  const counts = new Uint16Array(slots);
  const seed = opts.seed ?? randomInt(0, 0x7fffffff);
  let cost = clamp(opts.costMs ?? 0.5);
  /** ms of HELLO work the bucket holds */
  let budget = burstMs;
  /** what the last admitted HELLO was charged, until `spent` says what it cost */
  let charged = 0;
  let last: number | null = null;
  let windowStart = -Infinity;
  let sources = 0;
  let shed = 0;

  /** FNV-1a over the source's network part, seeded with a secret. */
  const slot = (host: string): number => {
    const key = host.includes(':') ? prefix64(host) : host;
    let h = 0x811c9dc5 ^ seed;
    for (let i = 0; i < key.length; i++) {
      h ^= key.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return (h >>> 0) % slots;
  };
  const rate = () => (share * 1000) / cost;

  return {
    admit(host, now) {
      if (last !== null && now > last) budget = Math.min(burstMs, budget + (now - last) * share);
      last = now;
      charged = 0;
      if (now - windowStart >= 1000) {
        windowStart = now;
        counts.fill(0);
        sources = 0;
      }
      const i = slot(host);
      const seen = (counts[i] ?? 0) + 1;
      if (seen === 1) sources++;
      counts[i] = Math.min(seen, 0xffff);
      const pressed = budget < burstMs / 2;
      // a source's first few HELLOs of the second may run the bucket into debt (half a burst at
      // most), so the crowd already taking every refill cannot keep a newcomer out
      const light = seen <= perSource;
      if (budget < (light ? cost - burstMs / 2 : cost) || (pressed && !light && seen > rate() / sources)) {
        shed++;
        return false;
      }
      budget -= cost;
      charged = cost;
      return true;
    },
    spent(ms) {
      if (!(ms >= 0)) return;
      // charge what it really took (a GC pause or a preemption counts: the loop was busy)
      budget = Math.max(-burstMs, budget + charged - ms);
      charged = 0;
      cost = clamp((1 - LEARN) * cost + LEARN * Math.min(ms, 4 * cost));
    },
    get shed() {
      return shed;
    },
    get costMs() {
      return cost;
    },
    get ratePerSec() {
      return rate();
    },
  };
}

function clamp(ms: number): number {
  return Math.min(MAX_COST_MS, Math.max(MIN_COST_MS, ms));
}

/**
 * After a restart every restored session is sent a STALE, so its client resumes at once instead
 * of waiting for its watchdog. Ten thousand at once would only be shed by the HELLO gate and
 * leave the clients in retransmission backoff, so they go out self-clocked: at most `window()`
 * nudged clients are in flight (nudged, not yet resumed, nudged less than `timeoutMs` ago) —
 * each resume makes room for the next nudge, so the nudges follow the pace at which the server
 * actually completes handshakes. The clients wait for their nudge (each was sent a HOLD), so a
 * lost nudge would leave one waiting until its HOLD runs out: once every target was nudged, the
 * ones that have not resumed are nudged once more, `againMs` after their first.
 */
export interface NudgePacer<T> {
  /** the nudges to send at `now` (ms), at most `max` */
  due(now: number, max?: number): T[];
  /** `email` resumed (or is gone): its place in the window is free */
  resumed(email: string): void;
  /** targets still owed a nudge (a first, or the second): neither resumed nor nudged twice */
  readonly waiting: number;
}

export function createNudgePacer<T extends { email: string }>(
  targets: Iterable<T>,
  opts: { window: () => number; timeoutMs?: number; againMs?: number },
): NudgePacer<T> {
  const queue = [...targets];
  const timeoutMs = opts.timeoutMs ?? 1000;
  const againMs = opts.againMs ?? 2000;
  /** email → when nudged; insertion order is time order */
  const inflight = new Map<string, number>();
  /** the targets still owed a nudge (a first, or the second): not resumed, not nudged twice */
  const owed = new Set(queue.map((t) => t.email));
  /** the first round's nudges in the order sent, for the second round */
  const sent: Array<{ target: T; at: number }> = [];
  let next = 0;
  let again = 0;
  const take = (t: T, now: number, out: T[]) => {
    inflight.set(t.email, now);
    out.push(t);
  };
  return {
    due(now, max = Infinity) {
      for (const [email, at] of inflight) {
        if (now - at < timeoutMs) break;
        inflight.delete(email);
      }
      const room = Math.min(max, Math.max(1, Math.floor(opts.window())) - inflight.size);
      const out: T[] = [];
      while (out.length < room && next < queue.length) {
        const t = queue[next++] as T;
        if (!owed.has(t.email)) continue;
        sent.push({ target: t, at: now });
        take(t, now, out);
      }
      while (out.length < room && next >= queue.length && again < sent.length) {
        const s = sent[again] as { target: T; at: number };
        if (!owed.has(s.target.email)) {
          again++;
          continue;
        }
        if (now - s.at < againMs) break;
        again++;
        owed.delete(s.target.email);
        take(s.target, now, out);
      }
      if (again >= sent.length && next >= queue.length) {
        sent.length = 0;
        again = 0;
      }
      return out;
    },
    resumed(email) {
      inflight.delete(email);
      owed.delete(email);
    },
    get waiting() {
      return owed.size;
    },
  };
}

/**
 * How long a HOLD asks the restored session at place `position` of the nudge queue to wait for
 * its STALE at most (PROTOCOL.md §2.7): its expected turn at half the rate the HELLO gate allows
 * now, plus 2 s, so a nudge is normally what ends the wait; a client whose nudge is lost (and
 * lost again) resumes on its own when the wait is over, the queue's tail no sooner than its turn.
 */
export function holdWaitMs(position: number, ratePerSec: number): number {
  return Math.min(HOLD_MAX_WAIT_MS, Math.round(2000 + (2000 * position) / Math.max(1, ratePerSec)));
}

/**
 * The WELCOMEs answered in the last few seconds, by HELLO. A client that retransmits its HELLO
 * (the WELCOME was lost, or its own loop was too busy to read it before its timer fired) gets the
 * same WELCOME again for a lookup and a send, instead of a second handshake the gate would have
 * to charge: in a 10 000-client restart storm about half the handshakes were such repeats. Bounded
 * (`max` entries, the oldest dropped first; only admitted HELLOs enter, so a flood fills it no
 * faster than the gate admits), and each answer is re-sent at most `replays` times, so replaying a
 * HELLO makes the server send no more than that. The WELCOME is smaller than the HELLO: no
 * amplification either way.
 */
export interface WelcomeCache {
  /**
   * the WELCOME answered to this HELLO from this address, while fresh and not re-sent too often;
   * `spent` once it was re-sent `replays` times while still fresh: the server drops the HELLO
   * rather than make a new handshake for it (in a storm, a client's copies queue up behind each
   * other, and the late ones would each cost a full handshake the client no longer waits for)
   */
  get(key: string, now: number): Uint8Array | 'spent' | null;
  set(key: string, welcome: Uint8Array, now: number): void;
  readonly size: number;
}

export function createWelcomeCache(opts: { max?: number; ttlMs?: number; replays?: number } = {}): WelcomeCache {
  const max = opts.max ?? 8192;
  const ttlMs = opts.ttlMs ?? 3000;
  const replays = opts.replays ?? 3;
  /** insertion order is expiry order */
  const entries = new Map<string, { welcome: Uint8Array; expires: number; left: number }>();
  const expire = (now: number) => {
    for (const [k, e] of entries) {
      if (e.expires > now && entries.size <= max) break;
      entries.delete(k);
    }
  };
  return {
    get(key, now) {
      const e = entries.get(key);
      if (!e || e.expires <= now) return null;
      if (e.left <= 0) return 'spent';
      e.left--;
      return e.welcome;
    },
    set(key, welcome, now) {
      entries.set(key, { welcome, expires: now + ttlMs, left: replays });
      expire(now);
    },
    get size() {
      return entries.size;
    },
  };
}

/** The first four groups (the /64) of an IPv6 address in any textual form; the IPv4 address of a mapped one. */
export function prefix64(host: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) return mapped[1] as string;
  const [head = '', tail] = host.split('::', 2);
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return groups.slice(0, 4).map((g) => (g.includes('.') ? g : (parseInt(g, 16) || 0).toString(16))).join(':');
}
