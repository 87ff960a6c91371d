/**
 * The server's online list: one actor holding the versioned presence log (presence.ts) and one
 * `liveness` child per online user, with id `childId(email)`.
 *
 * Routing: `LIVENESS.MISSED` and `LIVENESS.LIFE` do NOT go through the registry. The runtime
 * sends them straight to the child, `registry.getSnapshot().children[childId(email)]`, so the
 * per-datagram path never wakes the registry. The child answers with `LIVENESS.OFFLINE` to the
 * registry (its parent) when it gives up on the user.
 *
 * The runtime reads `context.presence` to build each TRUCO (`deltasSince`) and replaces the
 * effects with `registryMachine.provide({ actors: { liveness: livenessMachine.provide({ actions:
 * { reprobe, recovered } }) }, actions: { userLeft } })`.
 */
import { assertEvent, assign, sendTo, setup, spawnChild, stopChild } from 'xstate';
import type { Address, Member } from '../runtime/wire/types.ts';
import { livenessMachine, type LivenessEvent, type LivenessOfflineEvent } from './liveness.ts';
import { applyJoin, applyLeave, applyMove, emptyPresence, type PresenceLog } from './presence.ts';

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
  | { type: 'REGISTRY.STOP' };

/** The id of a user's liveness child. */
export function childId(email: string): string {
  return 'liveness:' + email;
}

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
    liveness: livenessMachine,
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
  initial: 'running',
  states: {
    running: {
      on: {
        'USER.JOIN': [
          {
            // already online (re-login, resume): keep the one child, and wake it if suspect
            guard: 'isOnline',
            actions: [
              assign({ presence: ({ context, event }) => applyJoin(context.presence, event.member) }),
              sendTo(({ event }) => childId(event.member.email), { type: 'LIVENESS.LIFE' } satisfies LivenessEvent),
            ],
          },
          {
            // not online, so no child with that id exists: spawning cannot collide
            actions: [
              assign({ presence: ({ context, event }) => applyJoin(context.presence, event.member) }),
              spawnChild('liveness', {
                id: ({ event }) => {
                  assertEvent(event, 'USER.JOIN');
                  return childId(event.member.email);
                },
                input: ({ context, event }) => {
                  assertEvent(event, 'USER.JOIN');
                  return {
                    email: event.member.email,
                    suspectProbes: context.suspectProbes,
                    suspectIntervalMs: context.suspectIntervalMs,
                  };
                },
              }),
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
            stopChild(({ event }) => childId(event.email)),
            assign({ presence: ({ context, event }) => applyLeave(context.presence, event.email) }),
            { type: 'userLeft', params: ({ event }) => ({ email: event.email, reason: event.reason }) },
          ],
        },
        'LIVENESS.OFFLINE': {
          guard: 'isOnline',
          actions: [
            stopChild(({ event }) => childId(event.email)),
            assign({ presence: ({ context, event }) => applyLeave(context.presence, event.email) }),
            { type: 'userLeft', params: ({ event }) => ({ email: event.email, reason: 'offline' as const }) },
          ],
        },
        'REGISTRY.STOP': { target: 'stopped' },
      },
    },
    /** final: the actor stops, and its liveness children with it */
    stopped: { type: 'final' },
  },
});
