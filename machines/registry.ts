/**
 * The server's online list: one actor holding the versioned presence log (presence.ts) and one
 * `liveness` actor per online user, with id `childId(email)`, kept in one of `POOLS` pool
 * children (liveness-pool.ts explains why).
 *
 * Routing: `LIVENESS.MISSED` and `LIVENESS.LIFE` do NOT go through the registry. The runtime
 * sends them straight to the user's actor, `livenessRef(registry.getSnapshot(), email)`, so the
 * per-datagram path never wakes the registry. A liveness actor that gives up on its user tells
 * its pool, which stops it and forwards `LIVENESS.OFFLINE` here.
 *
 * The runtime reads `context.presence` to build each TRUCO (`deltasSince`) and provides the
 * effects with `provideRegistry({ reprobe, recovered, userLeft })`.
 */
import { assign, enqueueActions, sendTo, setup, spawnChild, type AnyActorRef, type SnapshotFrom } from 'xstate';
import type { Address, Member } from '../runtime/wire/types.ts';
import type { LivenessOfflineEvent } from './liveness.ts';
import { childId, livenessPoolMachine, poolId, poolIndex, POOLS, providePool, type PoolEvent } from './liveness-pool.ts';
import { applyJoin, applyLeave, applyMove, emptyPresence, restoredPresence, type PresenceLog } from './presence.ts';

export interface RegistryInput {
  epoch: number;
  suspectProbes: number;
  suspectIntervalMs: number;
}

export interface RegistryContext {
  suspectProbes: number;
  suspectIntervalMs: number;
  presence: PresenceLog;
}

export type LeaveReason = 'logout' | 'replaced' | 'shutdown';
export type UserLeftReason = LeaveReason | 'offline';

export type RegistryEvent =
  /** a user logged in or resumed (also a re-login replacing an online session) */
  | { type: 'USER.JOIN'; member: Member }
  /** an online user's session roamed to another address */
  | { type: 'USER.MOVE'; email: string; address: Address }
  | { type: 'USER.LEAVE'; email: string; reason: LeaveReason }
  /** from a liveness child */
  | LivenessOfflineEvent
  /**
   * a restarted server takes up the list it had (server/presence-journal.ts), with the same
   * epoch and version; only into an empty registry. Each member gets a liveness actor, alive:
   * one whose client does not come back goes offline the usual way.
   */
  | { type: 'PRESENCE.RESTORE'; version: number; members: Member[] }
  | { type: 'REGISTRY.STOP' };

export { childId, POOLS };

/** The liveness actor of an online user, found through its pool (undefined when offline). */
export function livenessRef(snapshot: SnapshotFrom<typeof registryMachine>, email: string): AnyActorRef | undefined {
  const pool = (snapshot.children as Record<string, AnyActorRef | undefined>)[poolId(poolIndex(email))];
  return (pool?.getSnapshot().children as Record<string, AnyActorRef | undefined> | undefined)?.[childId(email)];
}

const toPool = (email: string) => poolId(poolIndex(email));

function eventEmail(event: RegistryEvent): string | null {
  switch (event.type) {
    case 'USER.JOIN':
      return event.member.email;
    case 'USER.MOVE':
    case 'USER.LEAVE':
    case 'LIVENESS.OFFLINE':
      return event.email;
    default:
      return null;
  }
}

export const registryMachine = setup({
  types: {
    context: {} as RegistryContext,
    input: {} as RegistryInput,
    events: {} as RegistryEvent,
  },
  actors: {
    pool: livenessPoolMachine,
  },
  actions: {
    /** the user is no longer online (close the session, tell the user if relevant) */
    userLeft: (_, _params: { email: string; reason: UserLeftReason }) => {},
  },
  guards: {
    /** the event's user is in the online list (and therefore has a liveness child) */
    isOnline: ({ context, event }) => {
      const email = eventEmail(event);
      return email !== null && context.presence.members.has(email);
    },
  },
}).createMachine({
  id: 'registry',
  context: ({ input }) => ({
    suspectProbes: input.suspectProbes,
    suspectIntervalMs: input.suspectIntervalMs,
    presence: emptyPresence(input.epoch),
  }),
  // the pools exist for the registry's whole life (ids pool:0 … pool:63)
  entry: Array.from({ length: POOLS }, (_, index) =>
    spawnChild('pool', {
      id: poolId(index),
      input: ({ context }) => ({ index, suspectProbes: context.suspectProbes, suspectIntervalMs: context.suspectIntervalMs }),
    }),
  ),
  initial: 'running',
  states: {
    running: {
      on: {
        'USER.JOIN': [
          {
            // already online (re-login, resume): keep the one liveness actor, and wake it if suspect
            guard: 'isOnline',
            actions: [
              assign({ presence: ({ context, event }) => applyJoin(context.presence, event.member) }),
              sendTo(({ event }) => toPool(event.member.email), ({ event }) => ({ type: 'POOL.LIFE', email: event.member.email }) satisfies PoolEvent),
            ],
          },
          {
            // not online, so its pool has no child with that id: spawning cannot collide
            actions: [
              assign({ presence: ({ context, event }) => applyJoin(context.presence, event.member) }),
              sendTo(({ event }) => toPool(event.member.email), ({ event }) => ({ type: 'POOL.ADD', email: event.member.email }) satisfies PoolEvent),
            ],
          },
        ],
        'USER.MOVE': {
          guard: 'isOnline',
          actions: assign({
            presence: ({ context, event }) => applyMove(context.presence, event.email, event.address),
          }),
        },
        'USER.LEAVE': {
          guard: 'isOnline',
          actions: [
            sendTo(({ event }) => toPool(event.email), ({ event }) => ({ type: 'POOL.REMOVE', email: event.email }) satisfies PoolEvent),
            assign({ presence: ({ context, event }) => applyLeave(context.presence, event.email) }),
            { type: 'userLeft', params: ({ event }) => ({ email: event.email, reason: event.reason }) },
          ],
        },
        'LIVENESS.OFFLINE': {
          guard: 'isOnline',
          // the pool has already stopped the child
          actions: [
            assign({ presence: ({ context, event }) => applyLeave(context.presence, event.email) }),
            { type: 'userLeft', params: ({ event }) => ({ email: event.email, reason: 'offline' as const }) },
          ],
        },
        'PRESENCE.RESTORE': {
          guard: ({ context }) => context.presence.members.size === 0 && context.presence.version === 0,
          actions: [
            assign({ presence: ({ context, event }) => restoredPresence(context.presence.epoch, event.version, event.members) }),
            enqueueActions(({ enqueue, event }) => {
              for (const m of event.members) enqueue.sendTo(toPool(m.email), { type: 'POOL.ADD', email: m.email } satisfies PoolEvent);
            }),
          ],
        },
        'REGISTRY.STOP': { target: 'stopped' },
      },
    },
    /** final: the actor stops, and its liveness children with it */
    stopped: { type: 'final' },
  },
});

/** The registry with its effects provided: the runtime's single entry point. */
export function provideRegistry(effects: {
  reprobe: (email: string) => void;
  recovered: (email: string) => void;
  userLeft: (email: string, reason: UserLeftReason) => void;
}) {
  return registryMachine.provide({
    actors: { pool: providePool(effects) },
    actions: { userLeft: (_, { email, reason }) => effects.userLeft(email, reason) },
  });
}
