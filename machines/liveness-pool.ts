/**
 * A pool of liveness machines: the registry's children are a fixed number of
 * pools, and each pool holds the liveness children of the users hashed to it.
 *
 * Why: XState copies an actor's `children` object on every spawn and stop, so
 * one registry with N direct children pays O(N) per join and leave (10 000
 * joins took 35 s). With `POOLS` pools a join copies about N / POOLS entries.
 * Stopping an actor stops its children one by one, each stop copying the
 * children left: stopping the registry costs about POOLS² + N² / POOLS copies.
 * With 1024 pools a server with no user at all spent 2.4 s of CPU in its
 * shutdown; with 256 (measured in-process, registry alone): stop 87 ms with
 * no user, 130 ms at 1 000 and 1.1 s at 10 000 (1024 pools: 2.5, 2.6, 3.3 s),
 * 10 000 joins 1.8 s either way.
 *
 * The registry only sends `POOL.ADD` for users that are not online, so a
 * pool never spawns a duplicate id. A child's `LIVENESS.OFFLINE` is handled
 * here (the child is stopped) and forwarded to the registry.
 */
import { assertEvent, enqueueActions, sendParent, setup, spawnChild, stopChild } from 'xstate';
import { livenessMachine, type LivenessEvent, type LivenessOfflineEvent } from './liveness.ts';

export const POOLS = 256;

export interface PoolInput {
  index: number;
  suspectProbes: number;
  suspectIntervalMs: number;
}

export type PoolEvent =
  | { type: 'POOL.ADD'; email: string }
  | { type: 'POOL.REMOVE'; email: string }
  | { type: 'POOL.LIFE'; email: string }
  | LivenessOfflineEvent;

/** The id of a user's liveness actor (inside its pool). */
export function childId(email: string): string {
  return 'liveness:' + email;
}

/** FNV-1a over the UTF-16 code units: stable, cheap, well spread for emails. */
export function poolIndex(email: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < email.length; i++) {
    h ^= email.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % POOLS;
}

export function poolId(index: number): string {
  return 'pool:' + index;
}

export const livenessPoolMachine = setup({
  types: {
    context: {} as PoolInput,
    input: {} as PoolInput,
    events: {} as PoolEvent,
  },
  actors: {
    liveness: livenessMachine,
  },
}).createMachine({
  id: 'livenessPool',
  context: ({ input }) => input,
  on: {
    'POOL.ADD': {
      actions: spawnChild('liveness', {
        id: ({ event }) => {
          assertEvent(event, 'POOL.ADD');
          return childId(event.email);
        },
        input: ({ context, event }) => {
          assertEvent(event, 'POOL.ADD');
          return { email: event.email, suspectProbes: context.suspectProbes, suspectIntervalMs: context.suspectIntervalMs };
        },
      }),
    },
    'POOL.REMOVE': { actions: stopChild(({ event }) => childId(event.email)) },
    'POOL.LIFE': {
      // the child may have just gone offline (its OFFLINE is on its way to the registry)
      actions: enqueueActions(({ enqueue, event, self }) => {
        const id = childId(event.email);
        if (self.getSnapshot().children[id]) enqueue.sendTo(id, { type: 'LIVENESS.LIFE' } satisfies LivenessEvent);
      }),
    },
    'LIVENESS.OFFLINE': {
      actions: [stopChild(({ event }) => childId(event.email)), sendParent(({ event }) => event)],
    },
  },
});

/** The pool machine with the liveness effects provided (what the registry's `pool` actor must be). */
export function providePool(effects: { reprobe: (email: string) => void; recovered: (email: string) => void }) {
  return livenessPoolMachine.provide({
    actors: {
      liveness: livenessMachine.provide({
        actions: {
          reprobe: (_, { email }) => effects.reprobe(email),
          recovered: (_, { email }) => effects.recovered(email),
        },
      }),
    },
  });
}
