/**
 * Liveness of one online user, on the server (runtime/PROTOCOL.md §5): alive → suspect → offline.
 *
 * The hot path stays outside the machine: the runtime sends a TRUCO every interval and counts
 * consecutive unanswered probes itself, so a healthy user's answered probe costs no actor event.
 * Only events that change something reach the machine:
 * - `LIVENESS.MISSED` when `misses` consecutive probes went unanswered;
 * - `LIVENESS.LIFE` for an authenticated datagram from the user while the machine is `suspect`
 *   (sending it while `alive` is harmless but wasted work).
 *
 * In `suspect` the machine re-probes quickly (`reprobe`, every `suspectInterval`); after
 * `suspectProbes` re-probes without life it is `offline` and tells its parent (the registry).
 * With the defaults the suspect phase lasts 10 × 150 ms = 1500 ms.
 */
import { assign, sendParent, setup } from 'xstate';

export interface LivenessInput {
  email: string;
  /** re-probes sent in `suspect` before giving up (default 10) */
  suspectProbes?: number;
  /** ms between re-probes (default 150) */
  suspectIntervalMs?: number;
}

export interface LivenessContext {
  email: string;
  suspectProbes: number;
  suspectIntervalMs: number;
  /** re-probes sent in the current suspect phase */
  probes: number;
}

export type LivenessEvent = { type: 'LIVENESS.MISSED' } | { type: 'LIVENESS.LIFE' };

/** Sent to the parent when the user is given up on. */
export interface LivenessOfflineEvent {
  type: 'LIVENESS.OFFLINE';
  email: string;
}

export const LIVENESS_DEFAULTS = { suspectProbes: 10, suspectIntervalMs: 150 } as const;

export const livenessMachine = setup({
  types: {
    context: {} as LivenessContext,
    input: {} as LivenessInput,
    events: {} as LivenessEvent,
  },
  actions: {
    /** send the user an immediate TRUCO */
    reprobe: (_, _params: { email: string }) => {},
    /** the user answered while suspect (the runtime resets its miss counter) */
    recovered: (_, _params: { email: string }) => {},
  },
  guards: {
    probesExhausted: ({ context }) => context.probes >= context.suspectProbes,
  },
  delays: {
    suspectInterval: ({ context }) => context.suspectIntervalMs,
  },
}).createMachine({
  id: 'liveness',
  context: ({ input }) => ({
    email: input.email,
    suspectProbes: Math.max(1, Math.floor(input.suspectProbes ?? LIVENESS_DEFAULTS.suspectProbes)),
    suspectIntervalMs: Math.max(0, input.suspectIntervalMs ?? LIVENESS_DEFAULTS.suspectIntervalMs),
    probes: 0,
  }),
  initial: 'alive',
  states: {
    alive: {
      on: { 'LIVENESS.MISSED': { target: 'suspect' } },
    },
    suspect: {
      entry: assign({ probes: 0 }),
      initial: 'probing',
      states: {
        probing: {
          entry: [
            assign({ probes: ({ context }) => context.probes + 1 }),
            { type: 'reprobe', params: ({ context }) => ({ email: context.email }) },
          ],
          after: {
            suspectInterval: [
              { guard: 'probesExhausted', target: '#liveness.offline' },
              { target: 'probing', reenter: true },
            ],
          },
        },
      },
      on: {
        'LIVENESS.LIFE': {
          target: 'alive',
          actions: { type: 'recovered', params: ({ context }) => ({ email: context.email }) },
        },
      },
    },
    offline: {
      type: 'final',
      entry: sendParent(({ context }): LivenessOfflineEvent => ({ type: 'LIVENESS.OFFLINE', email: context.email })),
    },
  },
});
