import { describe, expect, it } from 'vitest';
import { jitter } from '../../runtime/handshake.ts';

describe('handshake retransmission jitter (runtime/handshake.ts)', () => {
  it('draws each wait within ±25 % of the timeout, spread out rather than in lockstep', () => {
    const waits = Array.from({ length: 10_000 }, () => jitter(1000));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(750);
    expect(Math.max(...waits)).toBeLessThanOrEqual(1250);
    const mean = waits.reduce((a, b) => a + b, 0) / waits.length;
    expect(mean).toBeGreaterThan(980);
    expect(mean).toBeLessThan(1020);
    // ten clients refused together retransmit at ten different moments
    expect(new Set(waits.slice(0, 10)).size).toBe(10);
  });
});
