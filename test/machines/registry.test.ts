import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock, type AnyActorRef } from 'xstate';
import { deltasSince } from '../../machines/presence.ts';
import { childId, livenessRef, POOLS, provideRegistry, type UserLeftReason } from '../../machines/registry.ts';
import { addr, advance, member } from './fixtures.ts';

function harness() {
  const clock = new SimulatedClock();
  const left: Array<{ email: string; reason: UserLeftReason }> = [];
  const reprobes: string[] = [];
  const recovered: string[] = [];
  const machine = provideRegistry({
    reprobe: (email) => reprobes.push(email),
    recovered: (email) => recovered.push(email),
    userLeft: (email, reason) => left.push({ email, reason }),
  });
  const errors: unknown[] = [];
  const actor = createActor(machine, { clock, input: { epoch: 1234, suspectProbes: 10, suspectIntervalMs: 150 } });
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const presence = () => actor.getSnapshot().context.presence;
  /** every user's liveness actor, across the pools */
  const children = () => {
    const all: Record<string, AnyActorRef | undefined> = {};
    for (const pool of Object.values(actor.getSnapshot().children as Record<string, AnyActorRef>)) {
      Object.assign(all, pool.getSnapshot().children);
    }
    return all;
  };
  const child = (email: string) => livenessRef(actor.getSnapshot(), email);
  return { clock, actor, left, reprobes, recovered, errors, presence, children, child };
}

describe('registry machine', () => {
  it('starts running with an empty list at version 0 in its epoch', () => {
    const h = harness();
    expect(h.actor.getSnapshot().value).toBe('running');
    expect(h.presence()).toMatchObject({ epoch: 1234, version: 0 });
    expect(Object.keys(h.children())).toEqual([]);
  });

  it('JOIN adds the user with a JOIN delta and spawns one alive liveness child', () => {
    const h = harness();
    h.actor.send({ type: 'USER.JOIN', member: member('a@x', 1000) });
    h.actor.send({ type: 'USER.JOIN', member: member('b@x', 1001) });
    expect(h.presence().version).toBe(2);
    expect(h.presence().log.toArray().map((d) => d.kind)).toEqual(['join', 'join']);
    expect([...h.presence().members.keys()].sort()).toEqual(['a@x', 'b@x']);
    expect(Object.keys(h.children()).sort()).toEqual(['liveness:a@x', 'liveness:b@x']);
    expect(h.child('a@x')?.getSnapshot().value).toBe('alive');
    expect(h.child('a@x')?.getSnapshot().context).toMatchObject({ email: 'a@x', suspectProbes: 10, suspectIntervalMs: 150 });
    expect(childId('a@x')).toBe('liveness:a@x');
  });

  it('a duplicate JOIN neither spawns a second child nor bumps the version', () => {
    const h = harness();
    h.actor.send({ type: 'USER.JOIN', member: member('a@x', 1000) });
    const first = h.child('a@x');
    h.actor.send({ type: 'USER.JOIN', member: member('a@x', 1000) });
    expect(h.errors).toEqual([]);
    expect(h.presence().version).toBe(1);
    expect(Object.keys(h.children())).toEqual(['liveness:a@x']);
    expect(h.child('a@x')).toBe(first);
  });

  it('a re-login from elsewhere gives an UPDATE and keeps the one child', () => {
    const h = harness();
    h.actor.send({ type: 'USER.JOIN', member: member('a@x', 1000, 1) });
    const first = h.child('a@x');
    h.actor.send({ type: 'USER.JOIN', member: member('a@x', 2000, 2) });
    expect(h.presence().version).toBe(2);
    expect(h.presence().log.at(1)).toEqual({ kind: 'update', member: member('a@x', 2000, 2) });
    expect(h.child('a@x')).toBe(first);
  });

  it('a re-join of a suspect user brings its liveness back to alive', () => {
    const h = harness();
    h.actor.send({ type: 'USER.JOIN', member: member('a@x') });
    h.child('a@x')?.send({ type: 'LIVENESS.MISSED' });
    advance(h.clock, 600);
    expect(h.child('a@x')?.getSnapshot().matches('suspect')).toBe(true);
    h.actor.send({ type: 'USER.JOIN', member: member('a@x') });
    expect(h.child('a@x')?.getSnapshot().value).toBe('alive');
    expect(h.recovered).toEqual(['a@x']);
    advance(h.clock, 5000);
    expect(h.presence().members.has('a@x')).toBe(true);
    expect(h.left).toEqual([]);
  });

  it('MOVE of an online user records an UPDATE with the new address; unknown users are ignored', () => {
    const h = harness();
    h.actor.send({ type: 'USER.JOIN', member: member('a@x', 1000) });
    h.actor.send({ type: 'USER.MOVE', email: 'a@x', address: addr(3000, '10.0.0.9') });
    expect(h.presence().version).toBe(2);
    expect(h.presence().log.at(1)).toMatchObject({ kind: 'update', member: { email: 'a@x', address: addr(3000, '10.0.0.9') } });
    h.actor.send({ type: 'USER.MOVE', email: 'nobody@x', address: addr(3000) });
    expect(h.presence().version).toBe(2);
    expect(Object.keys(h.children())).toEqual(['liveness:a@x']);
  });

  it('LEAVE stops the child, records a LEAVE delta and reports userLeft with the reason', () => {
    const h = harness();
    h.actor.send({ type: 'USER.JOIN', member: member('a@x') });
    const child = h.child('a@x');
    h.actor.send({ type: 'USER.LEAVE', email: 'a@x', reason: 'logout' });
    expect(h.child('a@x')).toBeUndefined();
    expect(child?.getSnapshot().status).toBe('stopped');
    expect(h.presence().version).toBe(2);
    expect(h.presence().log.at(1)).toEqual({ kind: 'leave', email: 'a@x' });
    expect(h.left).toEqual([{ email: 'a@x', reason: 'logout' }]);

    h.actor.send({ type: 'USER.LEAVE', email: 'a@x', reason: 'replaced' });
    expect(h.left).toHaveLength(1);
    expect(h.presence().version).toBe(2);
  });

  it('an offline child removes the user with userLeft reason offline', () => {
    const h = harness();
    h.actor.send({ type: 'USER.JOIN', member: member('a@x') });
    h.actor.send({ type: 'USER.JOIN', member: member('b@x') });
    h.child('a@x')?.send({ type: 'LIVENESS.MISSED' });
    advance(h.clock, 1499);
    expect(h.presence().members.has('a@x')).toBe(true);
    advance(h.clock, 1);
    expect(h.left).toEqual([{ email: 'a@x', reason: 'offline' }]);
    expect(h.reprobes.filter((e) => e === 'a@x')).toHaveLength(10);
    expect(h.presence().members.has('a@x')).toBe(false);
    expect(h.presence().log.at(-1)).toEqual({ kind: 'leave', email: 'a@x' });
    expect(Object.keys(h.children())).toEqual(['liveness:b@x']);
    expect(h.errors).toEqual([]);

    // the same user can come back and gets a fresh child
    h.actor.send({ type: 'USER.JOIN', member: member('a@x') });
    expect(h.child('a@x')?.getSnapshot().value).toBe('alive');
    expect(h.presence().log.at(-1)?.kind).toBe('join');
  });

  it('the presence log serves the deltas a client needs', () => {
    const h = harness();
    h.actor.send({ type: 'USER.JOIN', member: member('a@x') });
    h.actor.send({ type: 'USER.JOIN', member: member('b@x') });
    h.actor.send({ type: 'USER.LEAVE', email: 'a@x', reason: 'logout' });
    const w = deltasSince(h.presence(), 1, 1170);
    expect(w).toMatchObject({ base: 1, version: 3, resync: false });
    expect(w.deltas.map((d) => d.kind)).toEqual(['join', 'leave']);
  });

  it('STOP ends the registry and its children', () => {
    const h = harness();
    h.actor.send({ type: 'USER.JOIN', member: member('a@x') });
    const child = h.child('a@x');
    h.actor.send({ type: 'REGISTRY.STOP' });
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(child?.getSnapshot().status).toBe('stopped');
  });
});

describe('registry pools', () => {
  it('keeps every liveness actor in one of POOLS pools, and leaves none behind after churn', () => {
    const h = harness();
    expect(Object.keys(h.actor.getSnapshot().children)).toHaveLength(POOLS);
    const emails = Array.from({ length: 3000 }, (_, i) => `u${i}@x`);
    for (const [i, e] of emails.entries()) h.actor.send({ type: 'USER.JOIN', member: member(e, 1000 + (i % 60000)) });
    expect(Object.keys(h.children())).toHaveLength(3000);
    const perPool = Object.values(h.actor.getSnapshot().children as Record<string, AnyActorRef>).map(
      (p) => Object.keys(p.getSnapshot().children).length,
    );
    // FNV-1a spreads them (3000 / POOLS each on average): no pool is crowded
    expect(Math.max(...perPool)).toBeLessThanOrEqual(2.5 * (3000 / POOLS));
    expect(perPool.filter((n) => n > 0).length).toBeGreaterThan(POOLS * 0.9);
    for (const e of emails) h.actor.send({ type: 'USER.LEAVE', email: e, reason: 'logout' });
    expect(Object.keys(h.children())).toHaveLength(0);
    expect(h.presence().members.size).toBe(0);
    expect(h.left).toHaveLength(3000);
    expect(h.errors).toEqual([]);
  });
});
