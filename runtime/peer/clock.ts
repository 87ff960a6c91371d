/**
 * The time source of the delivery engine: the same three calls as XState's
 * SimulatedClock, so tests drive it with a simulated clock and the runtime
 * with the real one.
 */

export interface Clock {
  /** milliseconds; only differences matter */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Wall-clock time with sub-millisecond resolution; timers are unref()'d. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
