import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReplayWindow, WINDOW } from '../../runtime/crypto/replay.ts';

/** The specification, written the slow obvious way. */
class Model {
  readonly seen = new Set<number>([0]);
  top = 0;
  accepts(c: number): boolean {
    if (c > this.top) return true;
    return this.top - c < WINDOW && !this.seen.has(c);
  }
  mark(c: number): void {
    this.seen.add(c);
    this.top = Math.max(this.top, c);
  }
}

function offer(w: ReplayWindow, c: number): boolean {
  if (w.check(c) !== 'ok') return false;
  w.mark(c);
  return true;
}

describe('replay window', () => {
  it('starts with counter 0 used and accepts 1, 2, 3 once each', () => {
    const w = new ReplayWindow();
    expect(w.check(0)).toEqual({ type: 'Replayed' });
    expect([1, 2, 3].map((c) => offer(w, c))).toEqual([true, true, true]);
    expect([1, 2, 3].map((c) => offer(w, c))).toEqual([false, false, false]);
  });

  it('accepts late datagrams up to 2047 behind the highest, and no further', () => {
    const w = new ReplayWindow();
    expect(offer(w, 5000)).toBe(true);
    expect(w.check(5000 - WINDOW)).toEqual({ type: 'TooOld' });
    expect(offer(w, 5000 - WINDOW + 1)).toBe(true);
    expect(offer(w, 4000)).toBe(true);
    expect(w.check(4000)).toEqual({ type: 'Replayed' });
  });

  it('clears stale bits when it jumps far ahead', () => {
    const w = new ReplayWindow();
    for (let c = 1; c <= 3000; c++) expect(offer(w, c)).toBe(true);
    expect(offer(w, 1_000_000)).toBe(true);
    // Every counter in the new window except the top is fresh again.
    for (let c = 1_000_000 - WINDOW + 1; c < 1_000_000; c++) expect(w.check(c)).toBe('ok');
    expect(offer(w, 1_000_000 + 33)).toBe(true);
    expect(offer(w, 1_000_000 + 1)).toBe(true);
    expect(offer(w, 1_000_000)).toBe(false);
  });

  it('remembers every counter of a full window, whatever its alignment to the 32-bit words', () => {
    for (let shift = 0; shift < 64; shift++) {
      const w = new ReplayWindow();
      const top = 10 * WINDOW + shift;
      const refused: number[] = [];
      const forgotten: number[] = [];
      for (let c = top - WINDOW + 1; c <= top; c++) if (!offer(w, c)) refused.push(c);
      for (let c = top - WINDOW + 1; c <= top; c++) if (w.check(c) === 'ok') forgotten.push(c);
      expect({ shift, refused, forgotten }).toEqual({ shift, refused: [], forgotten: [] });
      expect(w.check(top - WINDOW)).toEqual({ type: 'TooOld' });
    }
    // The oldest counter still in the window shares nothing with the newest.
    const w = new ReplayWindow();
    expect(offer(w, 1)).toBe(true);
    expect(offer(w, WINDOW)).toBe(true);
    expect(w.check(1)).toEqual({ type: 'Replayed' });
  });

  it('rejects counters it cannot represent', () => {
    const w = new ReplayWindow();
    expect(w.check(2 ** 53)).toEqual({ type: 'CounterOutOfRange' });
    expect(w.check(-1)).toEqual({ type: 'CounterOutOfRange' });
    expect(w.check(1.5)).toEqual({ type: 'CounterOutOfRange' });
    expect(offer(w, Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(w.check(Number.MAX_SAFE_INTEGER)).toEqual({ type: 'Replayed' });
  });

  it('agrees with the obvious model on any sequence (fast-check)', () => {
    // Mostly small steps around the top, with occasional long jumps and stale counters.
    const step = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: -40, max: 40 }) },
      { weight: 2, arbitrary: fc.integer({ min: -2100, max: 2100 }) },
      { weight: 2, arbitrary: fc.integer({ min: -WINDOW - 40, max: -WINDOW + 40 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 100_000 }) },
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 600 }), (steps) => {
        const w = new ReplayWindow();
        const m = new Model();
        for (const s of steps) {
          const c = Math.max(0, m.top + s);
          const expected = m.accepts(c);
          expect(offer(w, c)).toBe(expected);
          if (expected) m.mark(c);
          expect(w.highest).toBe(m.top);
        }
      }),
      { numRuns: 300 },
    );
  });
});
