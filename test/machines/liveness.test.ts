import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, SimulatedClock, type ActorRefFrom } from 'xstate';
import { livenessMachine, type LivenessInput } from '../../machines/liveness.ts';
import { advance } from './fixtures.ts';

/** Runs a liveness machine as the child of a tiny parent that records LIVENESS.OFFLINE. */
function harness(input: LivenessInput) {
  const clock = new SimulatedClock();
  const reprobes: Array<{ email: string; at: number }> = [];
  const recovered: string[] = [];
  const child = livenessMachine.provide({
    actions: {
      reprobe: (_, params) => reprobes.push({ email: params.email, at: clock.now() }),
      recovered: (_, params) => recovered.push(params.email),
    },
  });
  const parent = setup({
    types: { context: {} as { offline: Array<{ email: string; at: number }> }, events: {} as { type: 'LIVENESS.OFFLINE'; email: string } },
    actors: { liveness: child },
  }).createMachine({
    context: { offline: [] },
    invoke: { id: 'user', src: 'liveness', input },
    on: {
      'LIVENESS.OFFLINE': {
        actions: assign({ offline: ({ context, event }) => [...context.offline, { email: event.email, at: clock.now() }] }),
      },
    },
  });
  const errors: unknown[] = [];
  const actor = createActor(parent, { clock });
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const user = (): ActorRefFrom<typeof livenessMachine> => {
    const ref = actor.getSnapshot().children['user'];
    if (!ref) throw new Error('no child');
    return ref as ActorRefFrom<typeof livenessMachine>;
  };
  return { clock, actor, user, reprobes, recovered, errors };
}

describe('liveness machine', () => {
  it('starts alive and ignores LIFE while alive', () => {
    const h = harness({ email: 'a@x' });
    expect(h.user().getSnapshot().value).toBe('alive');
    h.user().send({ type: 'LIVENESS.LIFE' });
    advance(h.clock, 60_000);
    expect(h.user().getSnapshot().value).toBe('alive');
    expect(h.recovered).toEqual([]);
    expect(h.reprobes).toEqual([]);
  });

  it('goes suspect on MISSED and re-probes at once, then every suspectInterval', () => {
    const h = harness({ email: 'a@x', suspectProbes: 10, suspectIntervalMs: 150 });
    advance(h.clock, 1000);
    h.user().send({ type: 'LIVENESS.MISSED' });
    expect(h.user().getSnapshot().matches('suspect')).toBe(true);
    expect(h.reprobes).toEqual([{ email: 'a@x', at: 1000 }]);
    advance(h.clock, 149);
    expect(h.reprobes).toHaveLength(1);
    advance(h.clock, 1);
    expect(h.reprobes).toHaveLength(2);
    advance(h.clock, 150 * 8);
    expect(h.reprobes.map((r) => r.at)).toEqual([1000, 1150, 1300, 1450, 1600, 1750, 1900, 2050, 2200, 2350]);
    expect(h.user().getSnapshot().context.probes).toBe(10);
  });

  it('a second MISSED while suspect does not restart the suspect phase', () => {
    const h = harness({ email: 'a@x' });
    h.user().send({ type: 'LIVENESS.MISSED' });
    advance(h.clock, 700);
    h.user().send({ type: 'LIVENESS.MISSED' });
    advance(h.clock, 800);
    expect(h.user().getSnapshot().status).toBe('done');
    expect(h.actor.getSnapshot().context.offline).toEqual([{ email: 'a@x', at: 1500 }]);
  });

  it('goes offline after suspectProbes × suspectIntervalMs and tells the parent', () => {
    const h = harness({ email: 'a@x' });
    h.user().send({ type: 'LIVENESS.MISSED' });
    advance(h.clock, 1499);
    expect(h.user().getSnapshot().matches('suspect')).toBe(true);
    expect(h.actor.getSnapshot().context.offline).toEqual([]);
    advance(h.clock, 1);
    expect(h.user().getSnapshot().value).toBe('offline');
    expect(h.user().getSnapshot().status).toBe('done');
    expect(h.actor.getSnapshot().context.offline).toEqual([{ email: 'a@x', at: 1500 }]);
    expect(h.reprobes).toHaveLength(10);
    expect(h.errors).toEqual([]);
  });

  it('honours other probe counts and intervals', () => {
    const h = harness({ email: 'b@x', suspectProbes: 3, suspectIntervalMs: 100 });
    h.user().send({ type: 'LIVENESS.MISSED' });
    advance(h.clock, 299);
    expect(h.actor.getSnapshot().context.offline).toEqual([]);
    advance(h.clock, 1);
    expect(h.actor.getSnapshot().context.offline).toEqual([{ email: 'b@x', at: 300 }]);
    expect(h.reprobes.map((r) => r.at)).toEqual([0, 100, 200]);
  });

  it('a late LIFE brings a suspect user back to alive and stops the re-probes', () => {
    const h = harness({ email: 'a@x' });
    h.user().send({ type: 'LIVENESS.MISSED' });
    advance(h.clock, 1400);
    h.user().send({ type: 'LIVENESS.LIFE' });
    expect(h.user().getSnapshot().value).toBe('alive');
    expect(h.recovered).toEqual(['a@x']);
    const sent = h.reprobes.length;
    advance(h.clock, 10_000);
    expect(h.reprobes).toHaveLength(sent);
    expect(h.actor.getSnapshot().context.offline).toEqual([]);
  });

  it('a new suspect phase after recovery starts its count from zero', () => {
    const h = harness({ email: 'a@x' });
    h.user().send({ type: 'LIVENESS.MISSED' });
    advance(h.clock, 1000);
    h.user().send({ type: 'LIVENESS.LIFE' });
    advance(h.clock, 5000);
    h.user().send({ type: 'LIVENESS.MISSED' });
    expect(h.user().getSnapshot().context.probes).toBe(1);
    advance(h.clock, 1499);
    expect(h.actor.getSnapshot().context.offline).toEqual([]);
    advance(h.clock, 1);
    expect(h.actor.getSnapshot().context.offline).toEqual([{ email: 'a@x', at: 7500 }]);
  });

  it('defaults to 10 probes of 150 ms', () => {
    const h = harness({ email: 'a@x' });
    expect(h.user().getSnapshot().context).toMatchObject({ suspectProbes: 10, suspectIntervalMs: 150, probes: 0 });
  });
});
