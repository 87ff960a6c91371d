import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createLimiter } from '../../server/ratelimit.ts';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('rate limiter', () => {
  it('refuses after maxFailures within the window, until the oldest expires', () => {
    const c = clock();
    const l = createLimiter({ maxFailures: 3, windowMs: 10_000, now: c.now });
    expect(l.check('email:a@x.io')).toEqual({ ok: true });
    l.fail('email:a@x.io'); // t=0
    c.advance(2_000);
    l.fail('email:a@x.io'); // t=2s
    expect(l.check('email:a@x.io')).toEqual({ ok: true });
    c.advance(2_000);
    l.fail('email:a@x.io'); // t=4s
    expect(l.check('email:a@x.io')).toEqual({ ok: false, retryAfterS: 6 });
    c.advance(5_500);
    expect(l.check('email:a@x.io')).toEqual({ ok: false, retryAfterS: 1 });
    c.advance(500); // the t=0 failure leaves the window
    expect(l.check('email:a@x.io')).toEqual({ ok: true });
    l.fail('email:a@x.io'); // t=10s: failures at 2, 4, 10
    expect(l.check('email:a@x.io')).toEqual({ ok: false, retryAfterS: 2 });
  });

  it('keeps keys apart', () => {
    const c = clock();
    const l = createLimiter({ maxFailures: 2, now: c.now });
    l.fail('addr:10.0.0.1');
    l.fail('addr:10.0.0.1');
    expect(l.check('addr:10.0.0.1').ok).toBe(false);
    expect(l.check('addr:10.0.0.2').ok).toBe(true);
    expect(l.check('email:a@x.io').ok).toBe(true);
  });

  it('uses 5 failures per minute by default', () => {
    const c = clock();
    const l = createLimiter({ now: c.now });
    for (let i = 0; i < 4; i++) l.fail('k');
    expect(l.check('k').ok).toBe(true);
    l.fail('k');
    expect(l.check('k')).toEqual({ ok: false, retryAfterS: 60 });
    c.advance(60_000);
    expect(l.check('k').ok).toBe(true);
  });

  it('forgets a key on reset (a successful login)', () => {
    const c = clock();
    const l = createLimiter({ maxFailures: 1, now: c.now });
    l.fail('k');
    expect(l.check('k').ok).toBe(false);
    l.reset('k');
    expect(l.check('k').ok).toBe(true);
    expect(l.size()).toBe(0);
  });

  it('does not let failures beyond the limit extend the lockout forever', () => {
    const c = clock();
    const l = createLimiter({ maxFailures: 2, windowMs: 10_000, now: c.now });
    for (let i = 0; i < 100; i++) l.fail('k');
    expect(l.check('k')).toEqual({ ok: false, retryAfterS: 10 });
    c.advance(10_000);
    expect(l.check('k').ok).toBe(true);
  });

  it('expires entries so the table shrinks on its own', () => {
    const c = clock();
    const l = createLimiter({ windowMs: 1_000, now: c.now });
    for (let i = 0; i < 1_000; i++) l.fail(`addr:${i}`);
    expect(l.size()).toBe(1_000);
    c.advance(1_001);
    l.fail('addr:new');
    expect(l.size()).toBe(1);
    expect(l.check('addr:new').ok).toBe(true);
  });

  it('drops an expired key when it is checked', () => {
    const c = clock();
    const l = createLimiter({ windowMs: 1_000, now: c.now });
    l.fail('k');
    c.advance(1_000);
    expect(l.check('k').ok).toBe(true);
    expect(l.size()).toBe(0);
  });

  it('stays bounded under 200 000 distinct keys, evicting the least recently failed', () => {
    const c = clock();
    const l = createLimiter({ maxFailures: 2, maxKeys: 50_000, now: c.now });
    l.fail('victim');
    l.fail('victim');
    l.fail('kept');
    let largest = 0;
    for (let i = 0; i < 200_000; i++) {
      l.fail(`addr:${i}`);
      if (i % 1000 === 0) l.fail('kept'); // recently touched keys survive
      largest = Math.max(largest, l.size());
    }
    expect(largest).toBe(50_000);
    expect(l.size()).toBe(50_000);
    expect(l.check('victim').ok).toBe(true); // evicted, so forgotten
    l.fail('kept');
    expect(l.check('kept').ok).toBe(false);
    expect(l.check('addr:199999').ok).toBe(true);
    l.fail('addr:199999');
    expect(l.check('addr:199999').ok).toBe(false);
    expect(l.check('addr:0').ok).toBe(true);
  });

  it('caps retryAfterS at the window even if the clock goes backwards', () => {
    const c = clock();
    const l = createLimiter({ maxFailures: 1, windowMs: 5_000, now: c.now });
    l.fail('k');
    c.advance(-3_600_000);
    expect(l.check('k')).toEqual({ ok: false, retryAfterS: 5 });
  });

  it('behaves like a naive reference model under random operations', () => {
    type Op = { op: 'fail' | 'check' | 'reset'; key: number } | { op: 'advance'; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constantFrom('fail' as const, 'check' as const, 'reset' as const), key: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const c = clock();
        const opts = { maxFailures: 3, windowMs: 5_000, maxKeys: 4 };
        const l = createLimiter({ ...opts, now: c.now });
        // reference: same rules, written the obvious O(n) way
        const ref = new Map<string, number[]>();
        const prune = (k: string): number[] | undefined => {
          const times = ref.get(k)?.filter((x) => x > c.now() - opts.windowMs);
          if (!times || times.length === 0) {
            ref.delete(k);
            return undefined;
          }
          ref.set(k, times);
          return times;
        };
        for (const o of ops) {
          if (o.op === 'advance') {
            c.advance(o.ms);
            continue;
          }
          const key = `k${o.key}`;
          if (o.op === 'fail') {
            l.fail(key);
            for (const [k, times] of [...ref]) {
              if ((times[times.length - 1] as number) > c.now() - opts.windowMs) break;
              ref.delete(k);
            }
            const times = [...(prune(key) ?? []), c.now()].slice(-opts.maxFailures);
            ref.delete(key);
            ref.set(key, times);
            while (ref.size > opts.maxKeys) ref.delete(ref.keys().next().value as string);
          } else if (o.op === 'reset') {
            l.reset(key);
            ref.delete(key);
          } else {
            const times = prune(key);
            const blocked = times !== undefined && times.length >= opts.maxFailures;
            expect(l.check(key).ok).toBe(!blocked);
          }
          expect(l.size()).toBe(ref.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
