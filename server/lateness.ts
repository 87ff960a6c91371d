/**
 * How late the server's regular probes leave: for each probe, the time between its slot's due time
 * in the probe wheel and the moment the wheel ran it (a busy or stalled event loop runs it late).
 * A histogram with 1 ms buckets up to MAX_MS (later ones count in the last bucket), weighted per
 * probe: a slot of 200 sessions run 80 ms late is 200 probes 80 ms late. The host reports a
 * window of it in each `server.stats` line and starts the next one.
 */
const MAX_MS = 5000;

export interface LatenessSummary {
  /** probes run in the window */
  probes: number;
  p50: number;
  p99: number;
  max: number;
}

export interface Lateness {
  /** `count` probes ran `ms` after they were due */
  add(ms: number, count: number): void;
  /** the window so far */
  summary(): LatenessSummary;
  /** starts a new window */
  reset(): void;
}

export function createLateness(): Lateness {
  const counts = new Float64Array(MAX_MS + 1);
  let probes = 0;
  let max = 0;
  const quantile = (q: number): number => {
    if (probes === 0) return 0;
    const rank = q * probes;
    let seen = 0;
    for (let ms = 0; ms <= MAX_MS; ms++) {
      seen += counts[ms] as number;
      if (seen >= rank) return ms;
    }
    return MAX_MS;
  };
  return {
    add(ms, count) {
      if (!(count > 0) || !Number.isFinite(ms)) return;
      const late = Math.max(0, ms);
      const bucket = Math.min(MAX_MS, Math.floor(late));
      counts[bucket] = (counts[bucket] as number) + count;
      probes += count;
      if (late > max) max = late;
    },
    summary() {
      return { probes, p50: quantile(0.5), p99: quantile(0.99), max: Math.round(max) };
    },
    reset() {
      counts.fill(0);
      probes = 0;
      max = 0;
    },
  };
}
