import { describe, expect, it } from 'vitest';
import { createLateness } from '../../server/lateness.ts';

describe('probe lateness (server/lateness.ts)', () => {
  it('weights each slot by its probes: p50, p99 and max of a window, then a fresh window', () => {
    const l = createLateness();
    expect(l.summary()).toEqual({ probes: 0, p50: 0, p99: 0, max: 0 });
    l.add(2, 980); // most slots on time
    l.add(40, 15);
    l.add(120.6, 5); // one slot of 5 sessions run 120 ms late
    const s = l.summary();
    expect(s.probes).toBe(1000);
    expect(s.p50).toBe(2);
    expect(s.p99).toBe(40);
    expect(s.max).toBe(121);
    l.reset();
    expect(l.summary()).toEqual({ probes: 0, p50: 0, p99: 0, max: 0 });
  });

  it('ignores empty slots and nonsense; early runs count as on time; very late ones in the last bucket', () => {
    const l = createLateness();
    l.add(500, 0);
    l.add(Number.NaN, 10);
    l.add(-3, 1);
    expect(l.summary()).toEqual({ probes: 1, p50: 0, p99: 0, max: 0 });
    l.add(60_000, 99);
    expect(l.summary().p99).toBe(5000);
    expect(l.summary().max).toBe(60_000);
  });
});
