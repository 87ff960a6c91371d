/**
 * One conversation with one peer (BRIEF §2.1), spawned by the session machine with the systemId
 * `conversation:<email>` when the user opens it or a message arrives.
 *
 * Top level: connected ⇄ disconnected, driven by the session's presence (the server's verdict:
 * the peer is in the roster or not). The initial state follows the roster, with no system line;
 * every later change appends one ("connected" / "disconnected"). A peer who logs in again (a new
 * peer key) shows one "disconnected" and one "connected".
 *
 * Each outbound message is a child `delivery` actor: pending → delivered | failed, failed after
 * `giveUp` ms without an acknowledgement. Messages still pending when the peer goes offline, or
 * when our session ends, fail at once. A failed message can be retried while sending is possible.
 * Sending needs the peer connected and our own session online; otherwise it is refused and the
 * reason kept in `refused`.
 *
 * Effects, provided by the runtime (`conversationMachine.provide(...)`):
 * - `transmit({ peer, id, text })`: hand the message to the delivery engine;
 * - `cancelDelivery({ peer, id })`: stop retransmitting a message that failed here.
 * The runtime reports back with DELIVERY.ACKED / DELIVERY.FAILED, and RECEIVED for inbound
 * messages (already deduplicated and in order; the machine drops a repeated id again anyway).
 *
 * Timestamps (`at`, ms since the epoch) come in the events: the machine reads no clock.
 */
import { assign, enqueueActions, sendParent, setup } from 'xstate';

export const MESSAGE_GIVE_UP_MS = 10_000;

export interface ChatLineMessage {
  kind: 'message';
  id: string;
  direction: 'out' | 'in';
  text: string;
  /** ms since the epoch */
  at: number;
  /** 'delivered' for inbound */
  state: 'pending' | 'delivered' | 'failed';
}

export interface ChatLineSystem {
  kind: 'system';
  id: string;
  event: 'connected' | 'disconnected';
  at: number;
}

export type ChatLine = ChatLineMessage | ChatLineSystem;

export type Refusal = 'peer_offline' | 'not_online' | 'unknown_message';

export interface ConversationInput {
  peer: string;
  /** the peer's published key (any stable text form), null when the peer is not in the roster */
  peerKey: string | null;
  /** our session is online with a current roster */
  online: boolean;
}

export interface ConversationContext {
  peer: string;
  /** the key of the peer's login we last saw in the roster */
  peerKey: string | null;
  online: boolean;
  lines: ChatLine[];
  unread: number;
  /** pending outbound id → its delivery attempt (names the delivery actor); settled ids leave */
  attempts: Record<string, number>;
  /** the number of the next delivery attempt (unique over the conversation's life) */
  nextAttempt: number;
  /** the last SEND or RETRY refused */
  refused: null | { id: string; reason: Refusal };
}

export type ConversationEvent =
  /** from the session, whenever the roster or our own session changes */
  | { type: 'PRESENCE'; online: boolean; peerKey: string | null; at: number }
  /** our session ended (logout, kicked): nothing can be sent until the next login */
  | { type: 'SESSION.ENDED' }
  | { type: 'SEND'; id: string; text: string; at: number }
  | { type: 'RETRY'; id: string; at: number }
  | { type: 'RECEIVED'; id: string; text: string; at: number }
  | { type: 'DELIVERY.ACKED'; id: string }
  | { type: 'DELIVERY.FAILED'; id: string }
  | { type: 'MARK_READ' }
  /** from a delivery child */
  | { type: 'MESSAGE.SETTLED'; id: string; attempt: number; outcome: 'delivered' | 'failed' };

// ---- one outbound message ----------------------------------------------------------------------

export interface DeliveryInput {
  id: string;
  attempt: number;
}

/** pending → delivered | failed; `giveUp` ms without an acknowledgement fails it. */
export const deliveryMachine = setup({
  types: {
    context: {} as DeliveryInput,
    input: {} as DeliveryInput,
    events: {} as { type: 'ACKED' } | { type: 'FAIL' },
  },
  delays: { giveUp: MESSAGE_GIVE_UP_MS },
  actions: {
    report: sendParent((_, p: { id: string; attempt: number; outcome: 'delivered' | 'failed' }) => ({
      type: 'MESSAGE.SETTLED' as const,
      ...p,
    })),
  },
}).createMachine({
  id: 'delivery',
  context: ({ input }) => input,
  initial: 'pending',
  states: {
    pending: {
      after: { giveUp: 'failed' },
      on: { ACKED: 'delivered', FAIL: 'failed' },
    },
    delivered: {
      type: 'final',
      entry: { type: 'report', params: ({ context }) => ({ id: context.id, attempt: context.attempt, outcome: 'delivered' as const }) },
    },
    failed: {
      type: 'final',
      entry: { type: 'report', params: ({ context }) => ({ id: context.id, attempt: context.attempt, outcome: 'failed' as const }) },
    },
  },
});

// ---- pure helpers ------------------------------------------------------------------------------

export const deliveryId = (id: string, attempt: number): string => `delivery:${id}:${attempt}`;

/**
 * How far back a repeated inbound id is looked for. The runtime already drops repeats (per peer,
 * across channels); this is the machine's own, cheap second line. Searches start from the end, so
 * the lookups a message's life needs cost O(1) however long the conversation grows.
 */
export const RECENT_LINES = 512;

function indexOf(lines: readonly ChatLine[], id: string, direction: 'in' | 'out', limit = lines.length): number {
  for (let i = lines.length - 1, n = 0; i >= 0 && n < limit; i--, n++) {
    const l = lines[i]!;
    if (l.kind === 'message' && l.direction === direction && l.id === id) return i;
  }
  return -1;
}

function withState(lines: ChatLine[], id: string, state: ChatLineMessage['state']): ChatLine[] {
  const i = indexOf(lines, id, 'out');
  const line = lines[i];
  if (!line || line.kind !== 'message' || line.state === state) return lines;
  const next = lines.slice();
  next[i] = { ...line, state };
  return next;
}

function outbound(lines: readonly ChatLine[], id: string): ChatLineMessage | undefined {
  const l = lines[indexOf(lines, id, 'out')];
  return l?.kind === 'message' ? l : undefined;
}

function hasInbound(lines: readonly ChatLine[], id: string): boolean {
  return indexOf(lines, id, 'in', RECENT_LINES) >= 0;
}

function without(attempts: Record<string, number>, id: string): Record<string, number> {
  const next = { ...attempts };
  delete next[id];
  return next;
}

const systemLine = (lines: readonly ChatLine[], event: ChatLineSystem['event'], at: number): ChatLineSystem => ({
  kind: 'system',
  id: `system:${lines.length}`,
  event,
  at,
});

/** What the terminal client renders. */
export interface ConversationView {
  peer: string;
  connected: boolean;
  canSend: boolean;
  reason: null | 'peer_offline' | 'not_online';
  lines: readonly ChatLine[];
  unread: number;
}

export function viewOf(s: { context: ConversationContext; matches(v: 'connected' | 'disconnected'): boolean }): ConversationView {
  const connected = s.matches('connected');
  const reason = !s.context.online ? 'not_online' : !connected ? 'peer_offline' : null;
  return { peer: s.context.peer, connected, canSend: reason === null, reason, lines: s.context.lines, unread: s.context.unread };
}

// ---- the conversation --------------------------------------------------------------------------

const conversation = setup({
  types: {
    context: {} as ConversationContext,
    input: {} as ConversationInput,
    events: {} as ConversationEvent,
  },
  actors: { delivery: deliveryMachine },
  actions: {
    /** hand a message to the delivery engine */
    transmit: (_, _params: { peer: string; id: string; text: string }) => {},
    /** stop retransmitting a message that failed */
    cancelDelivery: (_, _params: { peer: string; id: string }) => {},

  },
  guards: {
    peerInRoster: ({ event }) => event.type === 'PRESENCE' && event.online && event.peerKey !== null,
    peerGone: ({ event }) => event.type === 'PRESENCE' && event.online && event.peerKey === null,
    peerNewLogin: ({ context, event }) =>
      event.type === 'PRESENCE' && event.online && event.peerKey !== null && context.peerKey !== null && event.peerKey !== context.peerKey,
  },
});

/** Every pending message fails now (the peer left, or our session ended). */
const failPending = conversation.enqueueActions(({ context, enqueue }) => {
  let lines = context.lines;
  for (const [id, attempt] of Object.entries(context.attempts)) {
    lines = withState(lines, id, 'failed');
    enqueue.stopChild(deliveryId(id, attempt));
    enqueue({ type: 'cancelDelivery', params: { peer: context.peer, id } });
  }
  enqueue.assign({ lines, attempts: {} });
});

/** Starts a delivery attempt of the message a SEND or RETRY names (already in `lines`). */
const startDelivery = conversation.enqueueActions(({ context, event, enqueue }) => {
  if (event.type !== 'SEND' && event.type !== 'RETRY') return;
  const line = outbound(context.lines, event.id);
  if (!line) return;
  const attempt = context.nextAttempt;
  enqueue.assign({ attempts: { ...context.attempts, [event.id]: attempt }, nextAttempt: attempt + 1, refused: null });
  enqueue.spawnChild('delivery', { id: deliveryId(event.id, attempt), input: { id: event.id, attempt } });
  enqueue({ type: 'transmit', params: { peer: context.peer, id: event.id, text: line.text } });
});

export const conversationMachine = conversation.createMachine({
  id: 'conversation',
  context: ({ input }) => ({
    peer: input.peer,
    peerKey: input.peerKey,
    online: input.online,
    lines: [],
    unread: 0,
    attempts: {},
    nextAttempt: 1,
    refused: null,
  }),
  initial: 'opening',
  on: {
    RECEIVED: {
      guard: ({ context, event }) => !hasInbound(context.lines, event.id),
      actions: assign(({ context, event }) => ({
        lines: [...context.lines, { kind: 'message', id: event.id, direction: 'in', text: event.text, at: event.at, state: 'delivered' }],
        unread: context.unread + 1,
      })),
    },
    MARK_READ: { actions: assign({ unread: 0 }) },
    'DELIVERY.ACKED': {
      guard: ({ context, event }) => context.attempts[event.id] !== undefined,
      actions: enqueueActions(({ context, event, enqueue }) => {
        enqueue.sendTo(deliveryId(event.id, context.attempts[event.id] ?? 0), { type: 'ACKED' });
      }),
    },
    'DELIVERY.FAILED': {
      guard: ({ context, event }) => context.attempts[event.id] !== undefined,
      actions: enqueueActions(({ context, event, enqueue }) => {
        enqueue.sendTo(deliveryId(event.id, context.attempts[event.id] ?? 0), { type: 'FAIL' });
      }),
    },
    'MESSAGE.SETTLED': {
      guard: ({ context, event }) => context.attempts[event.id] === event.attempt,
      actions: enqueueActions(({ context, event, enqueue }) => {
        enqueue.assign({ lines: withState(context.lines, event.id, event.outcome), attempts: without(context.attempts, event.id) });
        enqueue.stopChild(deliveryId(event.id, event.attempt));
        if (event.outcome === 'failed') enqueue({ type: 'cancelDelivery', params: { peer: context.peer, id: event.id } });
      }),
    },
    'SESSION.ENDED': { actions: [failPending, assign({ online: false })] },
  },
  states: {
    opening: {
      always: [{ guard: ({ context }) => context.peerKey !== null, target: 'connected' }, { target: 'disconnected' }],
    },

    connected: {
      on: {
        PRESENCE: [
          {
            guard: 'peerGone',
            target: 'disconnected',
            actions: [
              failPending,
              assign(({ context, event }) => ({
                online: true,
                peerKey: null,
                lines: [...context.lines, systemLine(context.lines, 'disconnected', event.at)],
              })),
            ],
          },
          {
            // the peer logged in again: its old login is gone, with whatever was pending to it
            guard: 'peerNewLogin',
            actions: [
              failPending,
              assign(({ context, event }) => {
                const gone = systemLine(context.lines, 'disconnected', event.at);
                const back = systemLine([...context.lines, gone], 'connected', event.at);
                return { online: true, peerKey: event.peerKey, lines: [...context.lines, gone, back] };
              }),
            ],
          },
          { actions: assign(({ context, event }) => ({ online: event.online, peerKey: event.online ? event.peerKey : context.peerKey })) },
        ],
        SEND: [
          {
            // an id already pending or among the recent lines is a repeat, not a new message
            guard: ({ context, event }) =>
              context.online && context.attempts[event.id] === undefined && indexOf(context.lines, event.id, 'out', RECENT_LINES) < 0,
            actions: [
              assign(({ context, event }) => ({
                lines: [...context.lines, { kind: 'message', id: event.id, direction: 'out', text: event.text, at: event.at, state: 'pending' }],
              })),
              startDelivery,
            ],
          },
          {
            actions: assign(({ context, event }) => ({
              refused: { id: event.id, reason: context.online ? ('unknown_message' as const) : ('not_online' as const) },
            })),
          },
        ],
        RETRY: [
          {
            guard: ({ context, event }) => context.online && outbound(context.lines, event.id)?.state === 'failed',
            actions: [
              assign(({ context, event }) => ({ lines: withState(context.lines, event.id, 'pending') })),
              startDelivery,
            ],
          },
          {
            actions: assign(({ context, event }) => ({
              refused: {
                id: event.id,
                reason: outbound(context.lines, event.id)?.state !== 'failed' ? ('unknown_message' as const) : ('not_online' as const),
              },
            })),
          },
        ],
      },
    },

    disconnected: {
      on: {
        PRESENCE: [
          {
            guard: 'peerInRoster',
            target: 'connected',
            actions: assign(({ context, event }) => ({
              online: true,
              peerKey: event.peerKey,
              lines: [...context.lines, systemLine(context.lines, 'connected', event.at)],
            })),
          },
          { actions: assign(({ event }) => ({ online: event.online })) },
        ],
        SEND: {
          actions: assign(({ context, event }) => ({
            refused: { id: event.id, reason: context.online ? ('peer_offline' as const) : ('not_online' as const) },
          })),
        },
        RETRY: {
          actions: assign(({ context, event }) => ({
            refused: {
              id: event.id,
              reason:
                outbound(context.lines, event.id)?.state !== 'failed'
                  ? ('unknown_message' as const)
                  : context.online
                    ? ('peer_offline' as const)
                    : ('not_online' as const),
            },
          })),
        },
      },
    },
  },
});

export type ConversationMachine = typeof conversationMachine;
