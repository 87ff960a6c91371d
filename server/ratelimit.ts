/**
 * A bounded failure counter for login attempts, keyed like `email:<email>` or
 * `addr:<ip>`.
 *
 * After `maxFailures` failures inside `windowMs`, `check` refuses until the
 * oldest of them leaves the window. The table never holds more than `maxKeys`
 * keys: the Map is kept in order of last failure, so when it is full the
 * least recently failed key goes, and keys whose failures have all expired
 * are swept from the front as new failures arrive.
 */

/** sign-ups one source address may attempt per hour unless told otherwise (`--signups-per-hour`) */
export const DEFAULT_SIGNUPS_PER_HOUR = 30;

export interface LimiterOptions {
  maxFailures?: number;
  windowMs?: number;
  maxKeys?: number;
  now?: () => number;
}

export type LimitVerdict = { ok: true } | { ok: false; retryAfterS: number };

export interface Limiter {
  check(key: string): LimitVerdict;
  fail(key: string): void;
  reset(key: string): void;
  size(): number;
}

interface Entry {
  /** failure times (ms, ascending, at most maxFailures) */
  times: number[];
}

export function createLimiter(opts: LimiterOptions = {}): Limiter {
  const maxFailures = Math.max(1, Math.floor(opts.maxFailures ?? 5));
  const windowMs = Math.max(1, opts.windowMs ?? 60_000);
  const maxKeys = Math.max(1, Math.floor(opts.maxKeys ?? 50_000));
  const now = opts.now ?? Date.now;
  const maxRetryS = Math.ceil(windowMs / 1000);
  /** key → entry, in order of last failure (a failing key is deleted and set again with a new entry) */
  const table = new Map<string, Entry>();
  // A Map deletes by leaving holes, so scanning from its start after many deletions
  // costs O(holes). A live iterator kept across calls walks past each hole once.
  let cursor: Iterator<[string, Entry]> | undefined;
  let front: [string, Entry] | undefined;

  /** The least recently failed live entry. */
  function oldest(): [string, Entry] | undefined {
    for (;;) {
      if (front && table.get(front[0]) === front[1]) return front;
      front = undefined;
      if (table.size === 0) {
        cursor = undefined;
        return undefined;
      }
      cursor ??= table.entries();
      const next = cursor.next();
      if (next.done) cursor = undefined;
      else front = next.value;
    }
  }

  /** Failures of `key` still inside the window; drops the key when none are. */
  function live(key: string, t: number): Entry | undefined {
    const entry = table.get(key);
    if (!entry) return undefined;
    const { times } = entry;
    const since = t - windowMs;
    let drop = 0;
    while (drop < times.length && (times[drop] as number) <= since) drop++;
    if (drop === times.length) {
      table.delete(key);
      return undefined;
    }
    if (drop > 0) times.splice(0, drop);
    return entry;
  }

  /** Removes keys at the front whose newest failure has left the window. */
  function sweep(t: number): void {
    const since = t - windowMs;
    for (let o = oldest(); o; o = oldest()) {
      const newest = o[1].times[o[1].times.length - 1];
      if (newest !== undefined && newest > since) break;
      table.delete(o[0]);
    }
  }

  return {
    check(key) {
      const t = now();
      const entry = live(key, t);
      if (!entry || entry.times.length < maxFailures) return { ok: true };
      const oldestFailure = entry.times[entry.times.length - maxFailures] as number;
      const waitMs = oldestFailure + windowMs - t;
      return { ok: false, retryAfterS: Math.min(maxRetryS, Math.max(1, Math.ceil(waitMs / 1000))) };
    },

    fail(key) {
      const t = now();
      sweep(t);
      const times = live(key, t)?.times ?? [];
      times.push(t);
      if (times.length > maxFailures) times.splice(0, times.length - maxFailures);
      table.delete(key);
      table.set(key, { times });
      while (table.size > maxKeys) {
        const o = oldest();
        if (!o) break;
        table.delete(o[0]);
      }
    },

    reset(key) {
      table.delete(key);
    },

    size() {
      return table.size;
    },
  };
}
