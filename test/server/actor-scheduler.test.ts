import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { livenessRef, provideRegistry, type UserLeftReason } from '../../machines/registry.ts';
import { indexedScheduling } from '../../server/actor-scheduler.ts';
import { advance, member } from '../machines/fixtures.ts';

/** The server's registry on the indexed scheduler, over a simulated clock. */
function harness() {
  const clock = new SimulatedClock();
  const scheduling = indexedScheduling(clock);
  const left: Array<{ email: string; reason: UserLeftReason }> = [];
  const reprobes: string[] = [];
  const actor = createActor(
    provideRegistry({ reprobe: (e) => reprobes.push(e), recovered: () => {}, userLeft: (email, reason) => left.push({ email, reason }) }),
    { clock: scheduling.clock, input: { epoch: 1, suspectProbes: 10, suspectIntervalMs: 150 } },
  );
  scheduling.install(actor.system);
  const errors: unknown[] = [];
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const join = (email: string, port: number) => actor.send({ type: 'USER.JOIN', member: member(email, port) });
  const child = (email: string) => livenessRef(actor.getSnapshot(), email);
  return { clock, scheduling, actor, left, reprobes, errors, join, child };
}

describe('indexed scheduling of the registry (server/actor-scheduler.ts)', () => {
  it('keeps the liveness timing: suspect re-probes every 150 ms, offline after 1500 ms', () => {
    const h = harness();
    h.join('a@x', 1);
    h.child('a@x')?.send({ type: 'LIVENESS.MISSED' });
    expect(h.scheduling.size).toBe(1);
    advance(h.clock, 1499);
    expect(h.reprobes).toHaveLength(10);
    expect(h.left).toEqual([]);
    advance(h.clock, 1);
    expect(h.left).toEqual([{ email: 'a@x', reason: 'offline' }]);
    expect(h.child('a@x')).toBeUndefined();
    expect(h.scheduling.size).toBe(0);
    expect(h.errors).toEqual([]);
  });

  it('a stopped suspect actor takes its pending re-probe with it, and leaves the others alone', () => {
    const h = harness();
    for (let i = 0; i < 50; i++) h.join(`u${i}@x`, i + 1);
    for (let i = 0; i < 50; i++) h.child(`u${i}@x`)?.send({ type: 'LIVENESS.MISSED' });
    expect(h.scheduling.size).toBe(50);
    for (let i = 0; i < 20; i++) h.actor.send({ type: 'USER.LEAVE', email: `u${i}@x`, reason: 'logout' });
    expect(h.scheduling.size).toBe(30);
    const before = h.reprobes.length;
    advance(h.clock, 150);
    // only the 30 still suspect re-probe
    expect(h.reprobes.length - before).toBe(30);
    advance(h.clock, 1500);
    expect(h.left.filter((l) => l.reason === 'offline').map((l) => l.email).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `u${i + 20}@x`).sort());
    expect(h.scheduling.size).toBe(0);
    expect(h.errors).toEqual([]);
  });

  it('a suspect user who answers is alive again with no timer left', () => {
    const h = harness();
    h.join('a@x', 1);
    h.child('a@x')?.send({ type: 'LIVENESS.MISSED' });
    advance(h.clock, 400);
    h.child('a@x')?.send({ type: 'LIVENESS.LIFE' });
    expect(h.child('a@x')?.getSnapshot().value).toBe('alive');
    expect(h.scheduling.size).toBe(0);
    advance(h.clock, 10_000);
    expect(h.left).toEqual([]);
  });

});
