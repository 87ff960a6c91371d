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

/**
 * Wall-clock time with sub-millisecond resolution; timers are unref()'d.
 *
 * A timer that expires runs its callback in the check phase of the event loop, after the poll
 * phase has read the datagrams already waiting: a retransmission deadline that passed while the
 * process was busy first sees the ACKs that arrived meanwhile, instead of retransmitting what
 * was in fact acknowledged (Node runs expired timers before it reads the socket).
 */
interface RealTimer {
  timeout: NodeJS.Timeout;
  immediate: NodeJS.Immediate | null;
  cancelled: boolean;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t: RealTimer = {
      timeout: setTimeout(() => {
        t.immediate = setImmediate(() => {
          if (!t.cancelled) fn();
        });
      }, Math.max(0, ms)),
      immediate: null,
      cancelled: false,
    };
    t.timeout.unref();
    return t;
  },
  clearTimeout(handle) {
    const t = handle as RealTimer;
    t.cancelled = true;
    clearTimeout(t.timeout);
    if (t.immediate !== null) clearImmediate(t.immediate);
  },
};
