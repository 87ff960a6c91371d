/**
 * One conversation with one peer (BRIEF §2.1), spawned by the session machine with the systemId
 * `conversation:<email>` when the user opens it or a message arrives.
 *
 * Top level: connected ⇄ disconnected, driven by the session's presence (the server's verdict:
 * the peer is in the roster or not). The initial state follows the roster, with no system line;
 * every later change appends one ("connected" / "disconnected"). A peer who logs in again (a new
 * peer key) shows one "disconnected" and one "connected".
 *
 * Each outbound message is pending → delivered | failed, failed `MESSAGE_GIVE_UP_MS` after it was
 * sent (its `at`) without an acknowledgement. One delayed `GIVE_UP` per conversation (the actor's
 * clock, named delay `giveUp`) is armed for the earliest deadline among the pending messages:
 * when it fires it fails what is due and re-arms for the next deadline, so a message costs no
 * timer and no actor of its own, and many messages in flight cost one timer. Messages still
 * pending when the peer goes offline, or when our session ends, fail at once. A failed message
 * can be retried while sending is possible. Sending needs the peer connected and our own session
 * online; otherwise it is refused and the reason kept in `refused`.
 *
 * Effects, provided by the runtime (`conversationMachine.provide(...)`):
 * - `transmit({ peer, id, text })`: hand the message to the delivery engine;
 * - `cancelDelivery({ peer, id })`: stop retransmitting a message that failed here.
 * The runtime reports back with DELIVERY.ACKED / DELIVERY.FAILED, and RECEIVED for inbound
 * messages (already deduplicated and in order; the machine drops a repeated id again anyway), or
 * with DELIVERY.BATCH / RECEIVED.BATCH carrying everything one pass of its event loop brought:
 * one transition, and one copy of the lines, for many messages.
 *
 * `lines` keeps the most recent `MAX_LINES` lines (the UI keeps the full history, ui/history.ts),
 * so appending costs the same however long the conversation grows.
 *
 * Timestamps (`at`, ms since the epoch) come in the events: the machine reads no clock.
 */
import { assign, enqueueActions, setup } from 'xstate';

/**
 * A message not acknowledged this long after the user sent it is shown failed: 9.5 s, so that
 * even on a loaded machine the user learns within 10 s (the engine itself gives up at 10 s).
 */
export const MESSAGE_GIVE_UP_MS = 9_500;

/** Lines kept in context, the most recent ones. */
export const MAX_LINES = 1000;

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
  /** lines dropped from the front of `lines` so far (MAX_LINES) */
  trimmed: number;
  unread: number;
  /**
   * The pending outbound messages, oldest first, each with its delivery attempt and the time it
   * fails; settled ones leave. A list, not a record: a few dozen entries are scanned faster than a
   * record with changing keys is copied.
   */
  pending: readonly PendingAttempt[];
  /**
   * The armed GIVE_UP: the deadline it fires for, and in how many ms from when it was armed (read
   * by the `giveUp` delay); null when none is armed. Never later than the earliest pending deadline.
   */
  giveUp: null | { at: number; in: number };
  /** the number of the next delivery attempt (unique over the conversation's life) */
  nextAttempt: number;
  /** the last SEND or RETRY refused */
  refused: null | { id: string; reason: Refusal };
}

export interface PendingAttempt {
  id: string;
  attempt: number;
  /** when it fails unless acknowledged first: the SEND's or RETRY's `at` + MESSAGE_GIVE_UP_MS */
  deadline: number;
}

export interface OutboundMessage {
  id: string;
  text: string;
  at: number;
}

export interface InboundMessage {
  id: string;
  text: string;
  at: number;
}

export type ConversationEvent =
  /** from the session, whenever the roster or our own session changes */
  | { type: 'PRESENCE'; online: boolean; peerKey: string | null; at: number }
  /** our session ended (logout, kicked): nothing can be sent until the next login */
  | { type: 'SESSION.ENDED' }
  | { type: 'SEND'; id: string; text: string; at: number }
  /**
   * Several SENDs at once (the runtime gathers what the user sent in one turn). Refused as a whole
   * while sending is impossible; the caller was already given the ids, so the messages then
   * appear as failed lines (retry-able once the peer is back) rather than vanish.
   */
  | { type: 'SEND.BATCH'; messages: readonly OutboundMessage[] }
  | { type: 'RETRY'; id: string; at: number }
  | { type: 'RECEIVED'; id: string; text: string; at: number }
  | { type: 'DELIVERY.ACKED'; id: string }
  | { type: 'DELIVERY.FAILED'; id: string }
  /** everything the runtime learnt in one pass: inbound messages in order, acknowledged and failed ids */
  | { type: 'RECEIVED.BATCH'; messages: readonly InboundMessage[] }
  | { type: 'DELIVERY.BATCH'; acked: readonly string[]; failed: readonly string[] }
  | { type: 'MARK_READ' }
  /** the earliest pending deadline `at` is reached: what is due by then fails */
  | { type: 'GIVE_UP'; at: number };

// ---- pure helpers ------------------------------------------------------------------------------

/** The attempt of a pending message, or undefined. */
export function attemptOf(pending: readonly PendingAttempt[], id: string): number | undefined {
  for (const p of pending) if (p.id === id) return p.attempt;
  return undefined;
}

/** The id of the conversation's one delayed GIVE_UP event. */
const GIVE_UP_ID = 'giveUp';

/** The earliest deadline among `pending`, or Infinity. */
function earliest(pending: readonly PendingAttempt[]): number {
  let at = Infinity;
  for (const p of pending) if (p.deadline < at) at = p.deadline;
  return at;
}

/**
 * How far back a repeated inbound id is looked for. The runtime already drops repeats (per peer,
 * across channels); this is the machine's own, cheap second line. Searches start from the end, so
 * the lookups a message's life needs cost O(1) however long the conversation grows.
 */
export const RECENT_LINES = 512;

function indexOf(lines: readonly ChatLine[], id: string, direction: 'in' | 'out'): number {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (l.kind === 'message' && l.direction === direction && l.id === id) return i;
  }
  return -1;
}

function withState(lines: ChatLine[], id: string, state: ChatLineMessage['state']): ChatLine[] {
  return withStates(lines, new Map([[id, state]]));
}

/** The outbound lines named in `states` in their new state, with one copy of the lines. */
function withStates(lines: ChatLine[], states: ReadonlyMap<string, ChatLineMessage['state']>): ChatLine[] {
  let next: ChatLine[] | null = null;
  let left = states.size;
  for (let i = lines.length - 1; i >= 0 && left > 0; i--) {
    const l = lines[i]!;
    if (l.kind !== 'message' || l.direction !== 'out') continue;
    const state = states.get(l.id);
    if (state === undefined) continue;
    left--;
    if (l.state === state) continue;
    next ??= lines.slice();
    next[i] = { ...l, state };
  }
  if (next) handOnIndex(lines, next, [], 0);
  return next ?? lines;
}

/** `lines` with `added` at the end, the oldest dropped past MAX_LINES: one copy of the lines. */
function append(context: Pick<ConversationContext, 'lines' | 'trimmed'>, added: readonly ChatLine[]): { lines: ChatLine[]; trimmed: number } {
  const kept = added.length > MAX_LINES ? added.slice(added.length - MAX_LINES) : added;
  const drop = Math.max(0, context.lines.length + kept.length - MAX_LINES);
  // one array of the exact size (a slice then pushes would grow it: a second, larger copy)
  const keep = context.lines.length - drop;
  const lines: ChatLine[] = new Array<ChatLine>(keep + kept.length);
  for (let i = 0; i < keep; i++) lines[i] = context.lines[drop + i] as ChatLine;
  for (let i = 0; i < kept.length; i++) lines[keep + i] = kept[i] as ChatLine;
  handOnIndex(context.lines, lines, kept, drop);
  return { lines, trimmed: context.trimmed + context.lines.length + added.length - lines.length };
}

/**
 * The ids of the message lines among the last RECENT_LINES of a `lines` array, per direction:
 * what the repeat checks look ids up in, instead of scanning those lines for every SEND.BATCH and
 * RECEIVED.BATCH (that scan was the conversation's largest cost per message).
 *
 * Derived data, memoized per array (lines arrays are never mutated once in a context): the
 * machine stays pure, and a missing entry is rebuilt from the lines. When `append` or `withStates`
 * makes the next array from one whose index is known, the index moves to the new array, updated
 * by the lines that entered and left the window; the old array then rebuilds its own if it is
 * ever asked again (a pure `transition` replaying an old snapshot).
 */
interface RecentIndex {
  out: Set<string>;
  in: Set<string>;
}
const recentIndexes = new WeakMap<readonly ChatLine[], RecentIndex>();

function recentIndex(lines: readonly ChatLine[]): RecentIndex {
  let index = recentIndexes.get(lines);
  if (!index) {
    index = { out: new Set(), in: new Set() };
    for (let i = Math.max(0, lines.length - RECENT_LINES); i < lines.length; i++) {
      const l = lines[i]!;
      if (l.kind === 'message') index[l.direction].add(l.id);
    }
    recentIndexes.set(lines, index);
  }
  return index;
}

/** Moves `prev`'s index (if any) to `next` = `prev` without its first `drop` lines, plus `added`. */
function handOnIndex(prev: readonly ChatLine[], next: readonly ChatLine[], added: readonly ChatLine[], drop: number): void {
  const index = recentIndexes.get(prev);
  if (!index) return;
  recentIndexes.delete(prev);
  if (added.length >= RECENT_LINES || next.length !== prev.length - drop + added.length) return;
  // the lines of prev's window that are not in next's window any more
  const from = Math.max(0, prev.length - RECENT_LINES);
  const to = Math.max(0, prev.length + added.length - RECENT_LINES);
  for (let i = from; i < to; i++) {
    const l = prev[i]!;
    if (l.kind === 'message') index[l.direction].delete(l.id);
  }
  for (const l of added) if (l.kind === 'message') index[l.direction].add(l.id);
  recentIndexes.set(next, index);
}

function outbound(lines: readonly ChatLine[], id: string): ChatLineMessage | undefined {
  const l = lines[indexOf(lines, id, 'out')];
  return l?.kind === 'message' ? l : undefined;
}


/** A system line; its id counts every line the conversation ever had, trimmed ones too. */
const systemLine = (context: Pick<ConversationContext, 'lines' | 'trimmed'>, event: ChatLineSystem['event'], at: number, offset = 0): ChatLineSystem => ({
  kind: 'system',
  id: `system:${context.trimmed + context.lines.length + offset}`,
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

/**
 * `lines` with the pending outbound lines among `ids` shown delivered, as a DELIVERY.BATCH of
 * those ids will make them: the runtime shows an acknowledgement before the machine settles it.
 * A line already failed, or not pending, is left as it is. Searched from the newest
 * (acknowledgements are for recent lines); the same array when nothing changes.
 */
export function withDelivered(lines: readonly ChatLine[], ids: ReadonlySet<string>): readonly ChatLine[] {
  let out: ChatLine[] | null = null;
  let left = ids.size;
  for (let i = lines.length - 1; i >= 0 && left > 0; i--) {
    const l = lines[i]!;
    if (l.kind !== 'message' || l.direction !== 'out' || !ids.has(l.id)) continue;
    left--;
    if (l.state !== 'pending') continue;
    out ??= lines.slice();
    out[i] = { ...l, state: 'delivered' };
  }
  return out ?? lines;
}

// ---- the conversation --------------------------------------------------------------------------

const conversation = setup({
  types: {
    context: {} as ConversationContext,
    input: {} as ConversationInput,
    events: {} as ConversationEvent,
  },
  delays: { giveUp: ({ context }) => context.giveUp?.in ?? MESSAGE_GIVE_UP_MS },
  actions: {
    /** hand messages to the delivery engine, in order (one action for a whole batch) */
    transmit: (_, _params: { peer: string; messages: readonly { id: string; text: string }[] }) => {},
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

type Enqueue = Parameters<Parameters<typeof conversation.enqueueActions>[0]>[0]['enqueue'];

/**
 * Keeps the GIVE_UP timer armed for the earliest of `pending`'s deadlines, `now` being the time of
 * the event at hand (events carry their time; the machine reads no clock). A timer armed for an
 * earlier deadline than needed stays (it fires, finds nothing due, and re-arms): moving it would
 * cost a cancel and a schedule on every acknowledgement.
 */
function armGiveUp(enqueue: Enqueue, armed: ConversationContext['giveUp'], pending: readonly PendingAttempt[], now: number): void {
  const at = earliest(pending);
  if (at === Infinity || (armed !== null && armed.at <= at)) return;
  if (armed !== null) enqueue.cancel(GIVE_UP_ID);
  enqueue.assign({ giveUp: { at, in: Math.max(0, at - now) } });
  enqueue.raise({ type: 'GIVE_UP', at }, { delay: 'giveUp', id: GIVE_UP_ID });
}

/** Every pending message fails now (the peer left, or our session ended). */
const failPending = conversation.enqueueActions(({ context, enqueue }) => {
  const failed = new Map<string, ChatLineMessage['state']>();
  for (const { id } of context.pending) {
    failed.set(id, 'failed');
    enqueue({ type: 'cancelDelivery', params: { peer: context.peer, id } });
  }
  if (context.giveUp !== null) enqueue.cancel(GIVE_UP_ID);
  enqueue.assign({ lines: withStates(context.lines, failed), pending: [], giveUp: null });
});

/** Starts a delivery attempt of the message a SEND or RETRY names (already in `lines`). */
const startDelivery = conversation.enqueueActions(({ context, event, enqueue }) => {
  if (event.type !== 'SEND' && event.type !== 'RETRY') return;
  const line = outbound(context.lines, event.id);
  if (!line) return;
  const attempt = context.nextAttempt;
  const pending = [...context.pending, { id: event.id, attempt, deadline: event.at + MESSAGE_GIVE_UP_MS }];
  enqueue.assign({ pending, nextAttempt: attempt + 1, refused: null });
  enqueue({ type: 'transmit', params: { peer: context.peer, messages: [{ id: event.id, text: line.text }] } });
  armGiveUp(enqueue, context.giveUp, pending, event.at);
});

/** Which of `ids` are among the recent lines of this direction (looked up in recentIndex). */
function inRecentLines(lines: readonly ChatLine[], direction: 'in' | 'out', ids: ReadonlySet<string>): Set<string> {
  const recent = recentIndex(lines)[direction];
  const found = new Set<string>();
  for (const id of ids) if (recent.has(id)) found.add(id);
  return found;
}

/** The ids of `messages` already pending or among the recent outbound lines: one pass over each. */
function repeatsOf(context: Pick<ConversationContext, 'pending' | 'lines'>, messages: readonly OutboundMessage[]): Set<string> {
  const ids = new Set(messages.map((m) => m.id));
  const repeats = inRecentLines(context.lines, 'out', ids);
  for (const p of context.pending) if (ids.has(p.id)) repeats.add(p.id);
  return repeats;
}

/** Appends the new messages of a SEND.BATCH as pending lines and starts a delivery attempt for each. */
const startBatch = conversation.enqueueActions(({ context, event, enqueue }) => {
  if (event.type !== 'SEND.BATCH') return;
  // repeats (already pending, among the recent lines, or twice in the batch) are looked for once
  // per batch, not once per message
  const known = repeatsOf(context, event.messages);
  const added: ChatLineMessage[] = [];
  const pending = context.pending.slice();
  let attempt = context.nextAttempt;
  for (const m of event.messages) {
    if (known.has(m.id)) continue;
    known.add(m.id);
    added.push({ kind: 'message', id: m.id, direction: 'out', text: m.text, at: m.at, state: 'pending' });
    pending.push({ id: m.id, attempt, deadline: m.at + MESSAGE_GIVE_UP_MS });
    attempt++;
  }
  if (added.length === 0) return;
  enqueue.assign({ ...append(context, added), pending, nextAttempt: attempt, refused: null });
  enqueue({ type: 'transmit', params: { peer: context.peer, messages: added.map((l) => ({ id: l.id, text: l.text })) } });
  armGiveUp(enqueue, context.giveUp, pending, added[0]!.at);
});

/**
 * A SEND.BATCH that cannot be sent: its messages appear failed, and the reason is kept. The engine
 * is told to forget them (`cancelDelivery`): the runtime may have handed them over ahead of this
 * transition, from a view that still showed the peer connected.
 */
const refuseBatch = conversation.enqueueActions(({ context, event, enqueue }) => {
  if (event.type !== 'SEND.BATCH' || event.messages.length === 0) return;
  const reason = !context.online ? ('not_online' as const) : ('peer_offline' as const);
  const known = repeatsOf(context, event.messages);
  const fresh: OutboundMessage[] = [];
  for (const m of event.messages) {
    if (known.has(m.id)) continue;
    known.add(m.id);
    fresh.push(m);
  }
  const added: ChatLine[] = fresh.map((m) => ({ kind: 'message', id: m.id, direction: 'out', text: m.text, at: m.at, state: 'failed' }));
  for (const m of fresh) enqueue({ type: 'cancelDelivery', params: { peer: context.peer, id: m.id } });
  enqueue.assign({ ...append(context, added), refused: { id: event.messages[event.messages.length - 1]!.id, reason } });
});

/** Settles pending messages: acknowledged ones delivered, the rest failed (and the engine told). */
const settle = conversation.enqueueActions(({ context, event, enqueue }) => {
  let acked: readonly string[] = [];
  let failed: readonly string[] = [];
  if (event.type === 'DELIVERY.ACKED') acked = [event.id];
  else if (event.type === 'DELIVERY.FAILED') failed = [event.id];
  else if (event.type === 'DELIVERY.BATCH') ({ acked, failed } = event);
  else if (event.type === 'GIVE_UP') {
    failed = context.pending.filter((p) => p.deadline <= event.at).map((p) => p.id);
    // the timer has fired: armed again for what is left
    enqueue.assign({ giveUp: null });
    armGiveUp(enqueue, null, context.pending.filter((p) => p.deadline > event.at), event.at);
  } else return;
  const outcome = new Map<string, ChatLineMessage['state']>();
  for (const id of acked) outcome.set(id, 'delivered');
  for (const id of failed) if (!outcome.has(id)) outcome.set(id, 'failed');
  const states = new Map<string, ChatLineMessage['state']>();
  const pending: PendingAttempt[] = [];
  for (const p of context.pending) {
    const state = outcome.get(p.id);
    if (state === undefined) {
      pending.push(p);
      continue;
    }
    states.set(p.id, state);
    if (state === 'failed') enqueue({ type: 'cancelDelivery', params: { peer: context.peer, id: p.id } });
  }
  if (states.size === 0) return;
  enqueue.assign({ lines: withStates(context.lines, states), pending });
});

/** Appends inbound messages not seen before (also not twice within one batch). */
const receive = conversation.assign(({ context, event }) => {
  const messages = event.type === 'RECEIVED' ? [event] : event.type === 'RECEIVED.BATCH' ? event.messages : [];
  const added: ChatLine[] = [];
  // ids already among the recent inbound lines, found in one pass for the whole batch
  const ids = inRecentLines(context.lines, 'in', new Set(messages.map((m) => m.id)));
  for (const m of messages) {
    if (ids.has(m.id)) continue;
    ids.add(m.id);
    added.push({ kind: 'message', id: m.id, direction: 'in', text: m.text, at: m.at, state: 'delivered' });
  }
  if (added.length === 0) return {};
  return { ...append(context, added), unread: context.unread + added.length };
});

export const conversationMachine = conversation.createMachine({
  id: 'conversation',
  context: ({ input }) => ({
    peer: input.peer,
    peerKey: input.peerKey,
    online: input.online,
    lines: [],
    trimmed: 0,
    unread: 0,
    pending: [],
    giveUp: null,
    nextAttempt: 1,
    refused: null,
  }),
  initial: 'opening',
  on: {
    RECEIVED: { actions: receive },
    'RECEIVED.BATCH': { actions: receive },
    MARK_READ: { actions: assign({ unread: 0 }) },
    'DELIVERY.ACKED': { actions: settle },
    'DELIVERY.FAILED': { actions: settle },
    'DELIVERY.BATCH': { actions: settle },
    GIVE_UP: { actions: settle },
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
                ...append(context, [systemLine(context, 'disconnected', event.at)]),
              })),
            ],
          },
          {
            // the peer logged in again: its old login is gone, with whatever was pending to it
            guard: 'peerNewLogin',
            actions: [
              failPending,
              assign(({ context, event }) => ({
                online: true,
                peerKey: event.peerKey,
                ...append(context, [systemLine(context, 'disconnected', event.at), systemLine(context, 'connected', event.at, 1)]),
              })),
            ],
          },
          { actions: assign(({ context, event }) => ({ online: event.online, peerKey: event.online ? event.peerKey : context.peerKey })) },
        ],
        SEND: [
          {
            // an id already pending or among the recent lines is a repeat, not a new message
            guard: ({ context, event }) =>
              context.online && attemptOf(context.pending, event.id) === undefined && !recentIndex(context.lines).out.has(event.id),
            actions: [
              assign(({ context, event }) =>
                append(context, [{ kind: 'message', id: event.id, direction: 'out', text: event.text, at: event.at, state: 'pending' }]),
              ),
              startDelivery,
            ],
          },
          {
            actions: assign(({ context, event }) => ({
              refused: { id: event.id, reason: context.online ? ('unknown_message' as const) : ('not_online' as const) },
            })),
          },
        ],
        'SEND.BATCH': [{ guard: ({ context }) => context.online, actions: startBatch }, { actions: refuseBatch }],
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
              ...append(context, [systemLine(context, 'connected', event.at)]),
            })),
          },
          { actions: assign(({ event }) => ({ online: event.online })) },
        ],
        SEND: {
          actions: assign(({ context, event }) => ({
            refused: { id: event.id, reason: context.online ? ('peer_offline' as const) : ('not_online' as const) },
          })),
        },
        'SEND.BATCH': { actions: refuseBatch },
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
