import { describe, expect, it } from 'vitest';
import { createHelloGate, createNudgePacer, createWelcomeCache, prefix64, type HelloGate } from '../../server/admission.ts';

/**
 * Feeds `perSec` HELLOs a second from `hosts` (round robin) for `seconds`; each admitted HELLO
 * "costs" `costMs` (told to the gate with `spent`) when given; calls `each` every 1 ms step.
 */
function drive(gate: HelloGate, hosts: string[], perSec: number, seconds: number, opts: { costMs?: number; each?: (t: number) => void } = {}) {
  let admitted = 0;
  let sent = 0;
  let busyMs = 0;
  for (let t = 0; t < seconds * 1000; t++) {
    const due = Math.floor(((t + 1) * perSec) / 1000);
    while (sent < due) {
      if (gate.admit(hosts[sent % hosts.length]!, t)) {
        admitted++;
        if (opts.costMs !== undefined) {
          gate.spent(opts.costMs);
          busyMs += opts.costMs;
        }
      }
      sent++;
    }
    opts.each?.(t);
  }
  return { admitted, sent, busyMs };
}

/** a gate that answers 200 HELLOs a second, bursts of 100: half the loop at 2.5 ms a HELLO */
const fixed200 = () => createHelloGate({ share: 0.5, costMs: 2.5, burstMs: 250, seed: 1 });

describe('HELLO admission (server/admission.ts)', () => {
  it('answers a burst of logins from one address (a restart, 50 clients on one host) in full', () => {
    const gate = createHelloGate();
    let ok = 0;
    for (let i = 0; i < 60; i++) if (gate.admit('127.0.0.1', 1000)) ok++;
    expect(ok).toBe(60);
    expect(gate.shed).toBe(0);
  });

  it('gives a lone busy source the whole sustained rate, and no more', () => {
    const gate = fixed200();
    expect(gate.ratePerSec).toBe(200);
    const { admitted } = drive(gate, ['10.0.0.1'], 2000, 5);
    expect(admitted).toBeGreaterThanOrEqual(5 * 200 - 5);
    expect(admitted).toBeLessThanOrEqual(5 * 200 + 100);
  });

  it('sizes the rate by what HELLOs really cost: cheap ones let a restart storm through, dear ones are held to the same share of time', () => {
    // 0.25 ms a HELLO: half the loop is 2000 a second, so 10 000 clients on one host are answered in about 5 s
    const cheap = createHelloGate();
    const storm = drive(cheap, ['127.0.0.1'], 5000, 5, { costMs: 0.25 });
    expect(cheap.costMs).toBeCloseTo(0.25, 2);
    expect(cheap.ratePerSec).toBeCloseTo(2000, -1);
    expect(storm.admitted).toBeGreaterThan(5 * 2000 * 0.95);
    // 5 ms a HELLO (a slow or loaded machine): 100 a second
    const dear = createHelloGate();
    const slow = drive(dear, ['127.0.0.1'], 5000, 5, { costMs: 5 });
    expect(dear.ratePerSec).toBeCloseTo(100, -1);
    expect(slow.admitted).toBeLessThan(5 * 100 + 250);
    // either way HELLOs took at most half of the time, plus one burst
    for (const r of [storm, slow]) expect(r.busyMs).toBeLessThanOrEqual(0.5 * 5000 + 150);
  });

  it('one slow HELLO (a GC pause) does not shut the gate', () => {
    const gate = createHelloGate({ costMs: 0.3 });
    for (let i = 0; i < 100; i++) if (gate.admit('10.0.0.1', i)) gate.spent(0.3);
    gate.admit('10.0.0.1', 100);
    gate.spent(200);
    expect(gate.costMs).toBeLessThan(0.4);
    const { admitted } = drive(gate, ['10.0.0.1'], 3000, 2, { costMs: 0.3 });
    // about 1667 a second (the clock restarts at 0, so the first 100 ms refill nothing), less
    // the 100 ms of debt the pause left: 3333 − 167 − 333
    expect(admitted).toBeGreaterThan(2800);
  });

  it('under a flood from 16 machines, a newcomer\'s every HELLO is still answered and the total stays bounded', () => {
    const gate = fixed200();
    const flooders = Array.from({ length: 16 }, (_, i) => `10.0.1.${i + 1}`);
    let newcomer = 0;
    let newcomerOk = 0;
    const { admitted } = drive(gate, flooders, 10_000, 10, {
      each: (t) => {
        if (t % 250 === 100) {
          newcomer++;
          if (gate.admit('192.168.7.7', t)) newcomerOk++;
        }
      },
    });
    expect(newcomer).toBe(40);
    expect(newcomerOk).toBe(40);
    expect(admitted + newcomerOk).toBeLessThanOrEqual(10 * 200 + 100);
    expect(gate.shed).toBeGreaterThan(90_000);
  });

  it('under a flood of measured HELLOs, the flood gets at most its share of the loop and a newcomer still gets in', () => {
    // (a fixed slot key: with a random one the newcomer shares a flooder's counter once in a few hundred runs)
    const gate = createHelloGate({ seed: 1 });
    const flooders = Array.from({ length: 16 }, (_, i) => `10.0.1.${i + 1}`);
    let newcomerOk = 0;
    const { busyMs } = drive(gate, flooders, 10_000, 10, {
      costMs: 0.4,
      each: (t) => {
        if (t % 250 === 100 && gate.admit('192.168.7.7', t)) {
          gate.spent(0.4);
          newcomerOk++;
        }
      },
    });
    expect(newcomerOk).toBe(40);
    // half the loop, plus one burst and the half burst newcomers may borrow
    expect(busyMs).toBeLessThanOrEqual(0.5 * 10_000 + 150);
  });

  it('counts an IPv6 flood by its /64, so rotating the interface id does not escape the limit', () => {
    const gate = fixed200();
    const v6 = Array.from({ length: 5000 }, (_, i) => `2001:db8:1:2:${(i % 65535).toString(16)}:0:0:${i.toString(16)}`);
    let newcomerOk = 0;
    drive(gate, v6, 10_000, 3, { each: (t) => {
      if (t % 250 === 100 && gate.admit('2001:db8:9:9::1', t)) newcomerOk++;
    } });
    expect(newcomerOk).toBe(12);
  });

  it('never throws and keeps no table per sender: a million distinct sources in a second', () => {
    const gate = createHelloGate();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) gate.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, i / 1000);
    const grown = process.memoryUsage().heapUsed - before;
    expect(gate.shed).toBeGreaterThan(900_000);
    expect(grown).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('restart nudges (createNudgePacer)', () => {
  const targets = (n: number) => Array.from({ length: n }, (_, i) => ({ email: `u${i}@x.test` }));

  it('keeps at most `window` nudged clients in flight; each resume makes room for the next', () => {
    const pacer = createNudgePacer(targets(1000), { window: () => 100 });
    const first = pacer.due(0);
    expect(first).toHaveLength(100);
    expect(pacer.due(10)).toHaveLength(0);
    for (const t of first.slice(0, 30)) pacer.resumed(t.email);
    const next = pacer.due(20);
    expect(next).toHaveLength(30);
    expect(next[0]!.email).toBe('u100@x.test');
    // 870 never nudged, and the 100 nudged but not resumed once more (the 30 resumed are not)
    expect(pacer.waiting).toBe(870 + 100);
  });

  it('counts what is left exactly: a target that resumed is not waited for, in either round', () => {
    const pacer = createNudgePacer(targets(10), { window: () => 4, againMs: 2000 });
    pacer.resumed('u9@x.test'); // before its first nudge
    expect(pacer.waiting).toBe(9);
    const first = pacer.due(0);
    expect(first).toHaveLength(4);
    pacer.resumed('u0@x.test'); // after its first nudge
    pacer.resumed('u0@x.test'); // told twice: counted once
    expect(pacer.waiting).toBe(9 + 4 - 4 - 1);
    let batch = first;
    for (let now = 10; batch.length > 0; now += 10) {
      for (const t of batch) pacer.resumed(t.email);
      batch = pacer.due(now);
    }
    // every target resumed after its first nudge: nothing left, so the host's nudge timer stops
    expect(pacer.waiting).toBe(0);
    expect(pacer.due(5000)).toHaveLength(0);
  });

  it('gives up waiting for a nudged client after the timeout (it may be gone)', () => {
    const pacer = createNudgePacer(targets(300), { window: () => 100, timeoutMs: 1000 });
    expect(pacer.due(0)).toHaveLength(100);
    expect(pacer.due(999)).toHaveLength(0);
    expect(pacer.due(1000)).toHaveLength(100);
  });

  it('does not nudge a client that resumed on its own (its HOLD ran out first)', () => {
    const pacer = createNudgePacer(targets(10), { window: () => 5 });
    pacer.resumed('u2@x.test');
    pacer.resumed('u7@x.test');
    const sent = [...pacer.due(0), ...pacer.due(1000)].map((t) => t.email);
    expect(sent).toHaveLength(8);
    expect(sent).not.toContain('u2@x.test');
    expect(sent).not.toContain('u7@x.test');
    for (const e of sent) pacer.resumed(e);
    expect(pacer.due(5000)).toHaveLength(0);
    expect(pacer.waiting).toBe(0);
  });

  it('nudges once more, 2 s after the first, a client that has not resumed (its STALE was lost), and no more', () => {
    const pacer = createNudgePacer(targets(6), { window: () => 10, againMs: 2000 });
    expect(pacer.due(0)).toHaveLength(6);
    for (const e of ['u0@x.test', 'u1@x.test', 'u2@x.test', 'u4@x.test']) pacer.resumed(e);
    expect(pacer.due(1999)).toHaveLength(0);
    expect(pacer.due(2000).map((t) => t.email)).toEqual(['u3@x.test', 'u5@x.test']);
    expect(pacer.waiting).toBe(0);
    expect([...pacer.due(4000), ...pacer.due(9000)]).toHaveLength(0);
  });

  it('follows the window as it changes (the gate learns the HELLO cost)', () => {
    let w = 10;
    const pacer = createNudgePacer(targets(100), { window: () => w });
    expect(pacer.due(0)).toHaveLength(10);
    w = 40;
    expect(pacer.due(1)).toHaveLength(30);
  });
});

describe('answered HELLOs (createWelcomeCache)', () => {
  const w = (n: number) => Uint8Array.of(n);

  it('answers a retransmitted HELLO with the same WELCOME while fresh, a few times at most', () => {
    const cache = createWelcomeCache({ ttlMs: 3000, replays: 3 });
    cache.set('127.0.0.1|4000|e1', w(1), 0);
    expect(cache.get('127.0.0.1|4000|e1', 100)).toEqual(w(1));
    expect(cache.get('127.0.0.1|4001|e1', 100)).toBeNull();
    expect(cache.get('127.0.0.1|4000|e1', 200)).toEqual(w(1));
    expect(cache.get('127.0.0.1|4000|e1', 300)).toEqual(w(1));
    // a replayed HELLO gets no more than `replays` answers from the cache, and no new handshake
    // while the answer is fresh
    expect(cache.get('127.0.0.1|4000|e1', 400)).toBe('spent');
    expect(cache.get('127.0.0.1|4000|e1', 2999)).toBe('spent');
    expect(cache.get('127.0.0.1|4000|e1', 3000)).toBeNull();
    cache.set('127.0.0.1|4000|e2', w(2), 500);
    expect(cache.get('127.0.0.1|4000|e2', 3499)).toEqual(w(2));
    expect(cache.get('127.0.0.1|4000|e2', 3500)).toBeNull();
  });

  it('stays bounded whatever arrives', () => {
    const cache = createWelcomeCache({ max: 1000, ttlMs: 3000 });
    for (let i = 0; i < 100_000; i++) cache.set(`10.0.0.1|${i}|e`, w(i & 255), i / 100);
    expect(cache.size).toBeLessThanOrEqual(1000);
    expect(cache.get('10.0.0.1|99999|e', 1000)).toEqual(w(99_999 & 255));
    expect(cache.get('10.0.0.1|0|e', 1000)).toBeNull();
  });
});

describe('prefix64', () => {
  it('takes the /64 of compressed and full IPv6 forms alike', () => {
    expect(prefix64('2001:db8::1')).toBe('2001:db8:0:0');
    expect(prefix64('2001:0db8:0000:0000:0000:0000:0000:0002')).toBe('2001:db8:0:0');
    expect(prefix64('::1')).toBe('0:0:0:0');
    expect(prefix64('fe80::1:2:3:4')).toBe('fe80:0:0:0');
    expect(prefix64('2001:db8:1:2:3::')).toBe('2001:db8:1:2');
    expect(prefix64('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(prefix64('::ffff:10.0.0.2')).not.toBe(prefix64('::ffff:10.0.0.1'));
  });
});
