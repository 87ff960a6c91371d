import { describe, expect, it } from 'vitest';
import { createHelloGate } from '../../server/admission.ts';

/** Feeds `perSec` HELLOs a second from `hosts` (round robin) for `seconds`; calls `each` every 1 ms step. */
function drive(gate: ReturnType<typeof createHelloGate>, hosts: string[], perSec: number, seconds: number, each?: (t: number) => void) {
  let admitted = 0;
  let sent = 0;
  for (let t = 0; t < seconds * 1000; t++) {
    const due = Math.floor(((t + 1) * perSec) / 1000);
    while (sent < due) {
      if (gate.admit(hosts[sent % hosts.length]!, t)) admitted++;
      sent++;
    }
    each?.(t);
  }
  return { admitted, sent };
}

describe('HELLO admission (server/admission.ts)', () => {
  it('answers a burst of logins from one address (a restart, 50 clients on one host) in full', () => {
    const gate = createHelloGate();
    let ok = 0;
    for (let i = 0; i < 60; i++) if (gate.admit('127.0.0.1', 1000)) ok++;
    expect(ok).toBe(60);
    expect(gate.shed).toBe(0);
  });

  it('gives a lone busy source the whole sustained rate, and no more', () => {
    const gate = createHelloGate({ ratePerSec: 200, burst: 100 });
    const { admitted } = drive(gate, ['10.0.0.1'], 2000, 5);
    expect(admitted).toBeGreaterThanOrEqual(5 * 200 - 5);
    expect(admitted).toBeLessThanOrEqual(5 * 200 + 100);
  });

  it('under a flood from 16 machines, a newcomer\'s every HELLO is still answered and the total stays bounded', () => {
    const gate = createHelloGate({ ratePerSec: 200, burst: 100 });
    const flooders = Array.from({ length: 16 }, (_, i) => `10.0.1.${i + 1}`);
    let newcomer = 0;
    let newcomerOk = 0;
    const { admitted } = drive(gate, flooders, 10_000, 10, (t) => {
      if (t % 250 === 100) {
        newcomer++;
        if (gate.admit('192.168.7.7', t)) newcomerOk++;
      }
    });
    expect(newcomer).toBe(40);
    expect(newcomerOk).toBe(40);
    expect(admitted + newcomerOk).toBeLessThanOrEqual(10 * 200 + 100);
    expect(gate.shed).toBeGreaterThan(90_000);
  });

  it('counts an IPv6 flood by its /64, so rotating the interface id does not escape the limit', () => {
    const gate = createHelloGate({ ratePerSec: 200, burst: 100 });
    const v6 = Array.from({ length: 5000 }, (_, i) => `2001:db8:1:2:${(i % 65535).toString(16)}:0:0:${i.toString(16)}`);
    let newcomerOk = 0;
    drive(gate, v6, 10_000, 3, (t) => {
      if (t % 250 === 100 && gate.admit('2001:db8:9:9::1', t)) newcomerOk++;
    });
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

describe('prefix64', () => {
  it('takes the /64 of compressed and full IPv6 forms alike', async () => {
    const { prefix64 } = await import('../../server/admission.ts');
    expect(prefix64('2001:db8::1')).toBe('2001:db8:0:0');
    expect(prefix64('2001:0db8:0000:0000:0000:0000:0000:0002')).toBe('2001:db8:0:0');
    expect(prefix64('::1')).toBe('0:0:0:0');
    expect(prefix64('fe80::1:2:3:4')).toBe('fe80:0:0:0');
    expect(prefix64('2001:db8:1:2:3::')).toBe('2001:db8:1:2');
    expect(prefix64('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(prefix64('::ffff:10.0.0.2')).not.toBe(prefix64('::ffff:10.0.0.1'));
  });
});
