/**
 * Admission of HELLOs. A HELLO is the one datagram a stranger can make the server work hard
 * for (two X25519, a key generation and a sealed token: about 1.5 ms on the reference machine),
 * so a flood of them would otherwise starve probes and everyone's logins.
 *
 * The server answers at most `ratePerSec` HELLOs a second, with bursts of `burst` (a token
 * bucket). While the bucket is less than half full (the server is under pressure), a source
 * address (IPv4, or the /64 of an IPv6 one) that already sent more than its fair share of HELLOs
 * in the current second (`ratePerSec` / sources seen, at least `perSourcePerSec`) is refused, so
 * a flooding machine cannot take the tokens a newcomer needs, while a lone busy source (a bench
 * logging in a thousand clients) still gets the whole rate. Refused HELLOs cost a decode and a
 * hash: microseconds.
 *
 * No per-sender state grows: the per-source counts live in a fixed table of `slots` counters
 * indexed by a hash of the source under a random key (so a flood cannot be aimed at someone's
 * slot), cleared every second. Sources sharing a slot share a count: the price of bounded memory.
 */
import { randomInt } from 'node:crypto';

export interface HelloGateOptions {
  /** HELLOs answered per second, sustained (default 200) */
  ratePerSec?: number;
  /** HELLOs answered back to back (default 100) */
  burst?: number;
  /** under pressure, the least share of HELLOs per second a source address gets (default 5) */
  perSourcePerSec?: number;
  /** size of the counter table (default 4096) */
  slots?: number;
}

export interface HelloGate {
  /** whether to answer a HELLO from `host` arriving at `now` (ms) */
  admit(host: string, now: number): boolean;
  /** HELLOs refused so far */
  readonly shed: number;
}

export function createHelloGate(opts: HelloGateOptions = {}): HelloGate {
  const rate = opts.ratePerSec ?? 200;
  const burst = Math.max(1, opts.burst ?? 100);
  const perSource = opts.perSourcePerSec ?? 5;
  const slots = opts.slots ?? 4096;
  const counts = new Uint16Array(slots);
  const seed = randomInt(0, 0x7fffffff);
  let tokens = burst;
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

  return {
    admit(host, now) {
      if (last !== null && now > last) tokens = Math.min(burst, tokens + ((now - last) * rate) / 1000);
      last = now;
      if (now - windowStart >= 1000) {
        windowStart = now;
        counts.fill(0);
        sources = 0;
      }
      const i = slot(host);
      const seen = (counts[i] ?? 0) + 1;
      if (seen === 1) sources++;
      counts[i] = Math.min(seen, 0xffff);
      const pressed = tokens < burst / 2;
      if (tokens < 1 || (pressed && seen > Math.max(perSource, rate / sources))) {
        shed++;
        return false;
      }
      tokens -= 1;
      return true;
    },
    get shed() {
      return shed;
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
