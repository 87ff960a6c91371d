/**
 * Sliding anti-replay window over 2048 counters, with the bitmap algorithm
 * WireGuard uses (RFC 6479): a ring of 32-bit words indexed by counter,
 * whole words cleared as the window advances, so each check is O(1).
 *
 * A counter is acceptable when it is above the highest one marked, or at
 * most 2047 below it and not yet marked. Callers check, then authenticate,
 * then mark: a forged datagram never moves the window.
 *
 * Counters are u64 on the wire; this window works on JavaScript numbers and
 * treats counters above 2^53 - 1 as out of range. At a million datagrams a
 * second a session would need 285 years to get there.
 */
import type { CounterOutOfRange, Replayed, TooOld } from './errors.ts';

export const WINDOW = 2048;
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

const WORD_BITS = 32;
// One spare word so a window that straddles word boundaries never wraps onto itself.
const WORDS = WINDOW / WORD_BITS + 1;

export type ReplayVerdict = 'ok' | Replayed | TooOld | CounterOutOfRange;

export class ReplayWindow {
  private readonly bits = new Uint32Array(WORDS);
  private top = 0;

  /** A fresh window with counter 0 already used (it belongs to AUTH / AUTH_RESULT). */
  constructor() {
    this.set(0);
  }

  /** The highest counter marked so far. */
  get highest(): number {
    return this.top;
  }

  /** Whether `counter` may be accepted; does not change the window. */
  check(counter: number): ReplayVerdict {
    if (!Number.isSafeInteger(counter) || counter < 0) return { type: 'CounterOutOfRange' };
    if (counter > this.top) return 'ok';
    if (this.top - counter >= WINDOW) return { type: 'TooOld' };
    return this.isSet(counter) ? { type: 'Replayed' } : 'ok';
  }

  /** Records `counter` as seen. Call only after `check` said ok and the datagram authenticated. */
  mark(counter: number): void {
    if (counter > this.top) {
      const from = Math.floor(this.top / WORD_BITS);
      const to = Math.floor(counter / WORD_BITS);
      const clear = Math.min(to - from, WORDS);
      for (let i = 1; i <= clear; i++) this.bits[(from + i) % WORDS] = 0;
      this.top = counter;
    }
    this.set(counter);
  }

  private isSet(counter: number): boolean {
    const word = this.bits[Math.floor(counter / WORD_BITS) % WORDS] ?? 0;
    return (word & (1 << (counter % WORD_BITS))) !== 0;
  }

  private set(counter: number): void {
    const i = Math.floor(counter / WORD_BITS) % WORDS;
    this.bits[i] = (this.bits[i] ?? 0) | (1 << (counter % WORD_BITS));
  }
}
