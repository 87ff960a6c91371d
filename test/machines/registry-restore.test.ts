import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { deltasSince } from '../../machines/presence.ts';
import { livenessRef, provideRegistry, type UserLeftReason } from '../../machines/registry.ts';
import { advance, member } from './fixtures.ts';

function harness() {
  const clock = new SimulatedClock();
  const left: Array<{ email: string; reason: UserLeftReason }> = [];
  const errors: unknown[] = [];
  const actor = createActor(
    provideRegistry({ reprobe: () => {}, recovered: () => {}, userLeft: (email, reason) => left.push({ email, reason }) }),
    { clock, input: { epoch: 77, suspectProbes: 3, suspectIntervalMs: 100 } },
  );
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  return { clock, actor, left, errors, presence: () => actor.getSnapshot().context.presence };
}

describe('registry: PRESENCE.RESTORE (a restarted server takes up its list)', () => {
  it('keeps epoch and version, logs nothing, and gives every member an alive liveness actor', () => {
    const h = harness();
    h.actor.send({ type: 'PRESENCE.RESTORE', version: 41, members: [member('a@x', 1000), member('b@x', 1001)] });
    expect(h.presence()).toMatchObject({ epoch: 77, version: 41, logStart: 41 });
    expect(h.presence().log.length).toBe(0);
    expect([...h.presence().members.keys()].sort()).toEqual(['a@x', 'b@x']);
    expect(livenessRef(h.actor.getSnapshot(), 'a@x')?.getSnapshot().value).toBe('alive');
    // a client holding version 41 needs nothing; one holding less resyncs
    expect(deltasSince(h.presence(), 41, 1000)).toMatchObject({ resync: false, deltas: [] });
    expect(deltasSince(h.presence(), 40, 1000).resync).toBe(true);
    expect(h.errors).toEqual([]);
  });

  it('a resumed member changes nothing; one that never comes back goes offline the usual way', () => {
    const h = harness();
    h.actor.send({ type: 'PRESENCE.RESTORE', version: 5, members: [member('a@x', 1000), member('b@x', 1001)] });
    h.actor.send({ type: 'USER.JOIN', member: member('a@x', 1000) });
    expect(h.presence().version).toBe(5);
    livenessRef(h.actor.getSnapshot(), 'b@x')?.send({ type: 'LIVENESS.MISSED' });
    advance(h.clock, 3 * 100 + 1);
    expect(h.left).toEqual([{ email: 'b@x', reason: 'offline' }]);
    expect(h.presence().version).toBe(6);
    expect(h.presence().log.toArray()).toEqual([{ kind: 'leave', email: 'b@x' }]);
    expect(h.errors).toEqual([]);
  });

  it('is ignored once the registry has a list of its own (never a duplicate liveness actor)', () => {
    const h = harness();
    h.actor.send({ type: 'USER.JOIN', member: member('a@x', 1000) });
    h.actor.send({ type: 'PRESENCE.RESTORE', version: 9, members: [member('a@x', 1000), member('c@x', 1002)] });
    expect(h.presence().version).toBe(1);
    expect([...h.presence().members.keys()]).toEqual(['a@x']);
    expect(h.errors).toEqual([]);
  });
});
