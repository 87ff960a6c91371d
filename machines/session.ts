/**
 * The client's session with the server: signed out → authenticating → online, plus signing up,
 * reconnecting, signing out and an explicit `kicked` that says why (BRIEF §2.1).
 *
 * Effects are named and provided by the runtime (`sessionMachine.provide(...)`):
 * - actors `signUp`, `logIn` (input `{ email, password }`), `resume` (input `{ email }`; retries
 *   the handshake with the resumption ticket internally and resolves only with a session or a
 *   refusal that retrying cannot fix; it must stop when its `signal` aborts), `logOut` (sends
 *   BYE, resolves on BYE_ACK or after its own timeout). They resolve with an `AuthOutcome` and
 *   reject only on internal failures (treated as `server_error`).
 * - actions `sendSeis({ probe, epoch, version })`, `requestRoster({ request, cursor })`.
 * - actor `conversation`: machines/conversation.ts, provided with its `transmit` / `cancelDelivery`.
 *
 * Conversations (one child per peer, id and systemId `conversation:<email>`) are spawned on
 * CONVERSATION.OPEN, on a SEND to a peer without one, and when PEER.RECEIVED brings a message
 * from one; never twice, never for ourselves, and only once an account is known. They outlive
 * `online`: whenever the roster or our own link changes they get a PRESENCE (the server's
 * verdict), and SESSION.ENDED when the session ends. Logging in as another account stops them.
 *
 * The password goes from the event straight into the invoked actor's input; it is never kept in
 * context. The resumption ticket lives in the runtime, not here.
 */
import { assertEvent, assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { Address, KickReasonName, Member, RosterPage, Truco } from '../runtime/wire/types.ts';
import { conversationMachine } from './conversation.ts';
import {
  cancelSync,
  emptyRoster,
  nextRequestId,
  onPage,
  onTruco,
  pageEffect,
  rosterVersionForSeis,
  startSync,
  trucoNeedsSync,
  type Roster,
} from './presence.ts';

export interface SessionInput {
  /** the server as shown to the user, "host:port" */
  server: string;
}

export interface SessionInfo {
  sid: number;
  intervalMs: number;
  misses: number;
  epoch: number;
  /** our address as the server sees it */
  address: Address;
}

export type AuthOutcome =
  | { ok: true; session: SessionInfo; email: string }
  | { ok: false; reason: string; retryAfterS?: number };

export interface Credentials {
  email: string;
  password: string;
}

export type KickedReason = 'elsewhere' | 'ticket_revoked' | 'dropped' | 'refused';
export type SignedOutReason = 'logout' | 'server_unreachable';
export type ReconnectCause = 'silence' | 'dropped' | 'shutdown';

export interface SessionContext {
  server: string;
  /** the account of the current (or last) session */
  email: string | null;
  session: SessionInfo | null;
  roster: Roster;
  /** why the last attempt failed: 'email_taken', 'invalid_email', 'weak_password',
   * 'unknown_email', 'wrong_password', 'rate_limited', 'ticket_refused', 'server_error',
   * 'server_unreachable', 'server_key_changed', … */
  error: null | { reason: string; retryAfterS?: number };
  kickReason: null | KickedReason;
  signedOutReason: null | SignedOutReason;
  reconnectCause: null | ReconnectCause;
  /** the next ROSTER_REQ id (u16) */
  nextRequest: number;
  /** peers with a conversation child, in the order they were opened */
  conversations: readonly string[];
  /** the account the conversations belong to */
  conversationsOf: string | null;
  /** in `online`: the roster is the server's current verdict (false while reconnecting or signed out) */
  linked: boolean;
  /** what the conversations were last told: `${linked}:${epoch}:${version}` */
  presenceTold: string;
  /** in `online.link.held`: how long the restarted server asked us to wait for its STALE */
  holdMs: number;
}

export type SessionEvent =
  | { type: 'SIGNUP'; email: string; password: string }
  | { type: 'LOGIN'; email: string; password: string }
  | { type: 'LOGOUT' }
  /** `at`: when it arrived (ms since the epoch), for the conversations' system lines */
  | { type: 'SERVER.TRUCO'; truco: Truco; at?: number }
  | { type: 'SERVER.ROSTER_PAGE'; page: RosterPage; at?: number }
  | { type: 'SERVER.KICK'; reason: KickReasonName }
  /** the server does not know our session (it restarted, or dropped us) */
  | { type: 'SERVER.STALE' }
  /** a restarted server restored our session: wait for its STALE, at most `waitMs` (PROTOCOL.md §2.7) */
  | { type: 'SERVER.HOLD'; waitMs: number }
  // ---- conversations (peer emails in canonical form) ----
  | { type: 'CONVERSATION.OPEN'; peer: string }
  | { type: 'CONVERSATION.SEND'; peer: string; id: string; text: string; at: number }
  | { type: 'CONVERSATION.RETRY'; peer: string; id: string; at: number }
  | { type: 'CONVERSATION.MARK_READ'; peer: string }
  /** from the delivery runtime */
  | { type: 'PEER.RECEIVED'; peer: string; id: string; text: string; at: number }
  | { type: 'PEER.ACKED'; peer: string; id: string }
  | { type: 'PEER.FAILED'; peer: string; id: string };

export const conversationId = (peer: string): string => `conversation:${peer}`;

/** The text form of a peer key that conversations compare (a new key = a new login). */
export function peerKeyText(m: Member | undefined): string | null {
  return m ? Buffer.from(m.peerKey).toString('base64') : null;
}

/** Resume failures that are worth another attempt while the give-up timer runs. */
const RETRYABLE = new Set([
  'server_error',
  'server_unreachable',
  'rate_limited',
  // a key claim is unauthenticated: a spoofer must not end a session (PROTOCOL.md §3.1); a real
  // change keeps failing and the give-up timer ends the session, with the reason shown meanwhile
  'server_key_changed',
]);

export const SESSION_DELAYS = {
  /**
   * the watchdog fires after (misses + watchdogSlack) × the session's probe interval without a
   * TRUCO: longer than the server's own patience (misses, then ~1.5 intervals of suspicion), so
   * a client does not give up on a server that still counts it online
   */
  watchdogSlack: 2,
  /**
   * after this many intervals without a TRUCO the link is `quiet`: the client sends an
   * unsolicited SEIS every interval, so a server whose probes go to an address we no longer have
   * (a NAT rebinding, a new Wi-Fi lease) hears us from the new one and moves the session there
   * long before it would drop us
   */
  quietIntervals: 2,
  pageTimeoutMs: 500,
  reconnectGiveUpMs: 30_000,
  resumeRetryMs: 1_000,
} as const;

function failure(o: AuthOutcome): SessionContext['error'] {
  if (o.ok) return null;
  return o.retryAfterS === undefined ? { reason: o.reason } : { reason: o.reason, retryAfterS: o.retryAfterS };
}

/** Context after a successful login or sign-up: a fresh roster, already syncing. */
function established(context: SessionContext, o: AuthOutcome): Partial<SessionContext> {
  if (!o.ok) return {};
  return {
    email: o.email,
    session: o.session,
    error: null,
    kickReason: null,
    signedOutReason: null,
    reconnectCause: null,
    roster: startSync(emptyRoster(), context.nextRequest),
    nextRequest: nextRequestId(context.nextRequest),
  };
}

const presenceKey = (c: Pick<SessionContext, 'linked' | 'roster'>): string => `${c.linked}:${c.roster.epoch}:${c.roster.version}`;

const notProvided = async (): Promise<never> => {
  throw new Error('not provided');
};

const sessionSetup = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionEvent,
  },
  actors: {
    signUp: fromPromise<AuthOutcome, Credentials>(notProvided),
    logIn: fromPromise<AuthOutcome, Credentials>(notProvided),
    resume: fromPromise<AuthOutcome, { email: string }>(notProvided),
    logOut: fromPromise<void>(notProvided),
    conversation: conversationMachine,
  },
  actions: {
    /** answer a TRUCO with the roster version we hold */
    sendSeis: (_, _params: { probe: number; epoch: number; version: number }) => {},
    /** send ROSTER_REQ */
    requestRoster: (_, _params: { request: number; cursor: string }) => {},
    clearReasons: assign({ error: null, kickReason: null, signedOutReason: null }),
    dropSession: assign({ session: null, roster: () => emptyRoster(), reconnectCause: null }),
    /** a login as another account than the conversations' owner stops them all */
    resetConversations: enqueueActions(({ context, enqueue }, params: { email: string | null }) => {
      if (params.email === null || context.conversationsOf === null || context.conversationsOf === params.email) return;
      for (const peer of context.conversations) enqueue.stopChild(conversationId(peer));
      enqueue.assign({ conversations: [], conversationsOf: null });
    }),
    link: assign({ linked: true }),
    unlink: assign({ linked: false }),
  },
  delays: {
    watchdog: ({ context }) => ((context.session?.misses ?? 3) + SESSION_DELAYS.watchdogSlack) * (context.session?.intervalMs ?? 1000),
    linkQuiet: ({ context }) => SESSION_DELAYS.quietIntervals * (context.session?.intervalMs ?? 1000),
    keepalive: ({ context }) => context.session?.intervalMs ?? 1000,
    hold: ({ context }) => context.holdMs,
    pageTimeout: SESSION_DELAYS.pageTimeoutMs,
    reconnectGiveUp: SESSION_DELAYS.reconnectGiveUpMs,
    resumeRetry: ({ context }) =>
      context.error?.retryAfterS !== undefined ? context.error.retryAfterS * 1000 : SESSION_DELAYS.resumeRetryMs,
  },
});

/** Whether a conversation with `peer` may be spawned now (not twice, not ourselves, an account known). */
function mayOpen(context: SessionContext, peer: string): boolean {
  return !context.conversations.includes(peer) && context.email !== null && peer !== context.email && peer !== '';
}

/** Tells every conversation the server's verdict, when it changed since the last time. */
const tellPresence = sessionSetup.enqueueActions(({ context, event, enqueue }) => {
  const key = presenceKey(context);
  if (key === context.presenceTold) return;
  enqueue.assign({ presenceTold: key });
  const online = context.linked && context.roster.version >= 0;
  const at = 'at' in event && typeof event.at === 'number' ? event.at : 0;
  for (const peer of context.conversations) {
    enqueue.sendTo(conversationId(peer), {
      type: 'PRESENCE',
      online,
      peerKey: peerKeyText(context.roster.members.get(peer)),
      at,
    });
  }
});

/** Our session ended: every conversation fails what was pending and refuses to send. */
const endConversations = sessionSetup.enqueueActions(({ context, enqueue }) => {
  enqueue.assign({ presenceTold: presenceKey({ linked: false, roster: context.roster }) });
  for (const peer of context.conversations) enqueue.sendTo(conversationId(peer), { type: 'SESSION.ENDED' });
});

/** Routes conversation events to the child of that peer, spawning it first when allowed. */
const forward = sessionSetup.enqueueActions(({ context, event, enqueue }) => {
  if (!('peer' in event)) return;
  const peer = event.peer;
  const spawns = event.type === 'CONVERSATION.OPEN' || event.type === 'CONVERSATION.SEND' || event.type === 'PEER.RECEIVED';
  if (spawns && mayOpen(context, peer)) {
    const id = conversationId(peer);
    enqueue.spawnChild('conversation', {
      id,
      systemId: id,
      input: { peer, peerKey: peerKeyText(context.roster.members.get(peer)), online: context.linked && context.roster.version >= 0 },
    });
    enqueue.assign({ conversations: [...context.conversations, peer], conversationsOf: context.email });
  } else if (!context.conversations.includes(peer)) return;
  const to = conversationId(peer);
  switch (event.type) {
    case 'CONVERSATION.SEND':
      return enqueue.sendTo(to, { type: 'SEND', id: event.id, text: event.text, at: event.at });
    case 'PEER.RECEIVED':
      return enqueue.sendTo(to, { type: 'RECEIVED', id: event.id, text: event.text, at: event.at });
    case 'CONVERSATION.RETRY':
      return enqueue.sendTo(to, { type: 'RETRY', id: event.id, at: event.at });
    case 'CONVERSATION.MARK_READ':
      return enqueue.sendTo(to, { type: 'MARK_READ' });
    case 'PEER.ACKED':
      return enqueue.sendTo(to, { type: 'DELIVERY.ACKED', id: event.id });
    case 'PEER.FAILED':
      return enqueue.sendTo(to, { type: 'DELIVERY.FAILED', id: event.id });
    default:
      return;
  }
});

export const sessionMachine = sessionSetup.createMachine({
  id: 'session',
  context: ({ input }) => ({
    server: input.server,
    email: null,
    session: null,
    roster: emptyRoster(),
    error: null,
    kickReason: null,
    signedOutReason: null,
    reconnectCause: null,
    nextRequest: 0,
    conversations: [],
    conversationsOf: null,
    linked: false,
    presenceTold: '',
    holdMs: 0,
  }),
  initial: 'signedOut',
  on: {
    'CONVERSATION.OPEN': { actions: forward },
    'CONVERSATION.SEND': { actions: forward },
    'CONVERSATION.RETRY': { actions: forward },
    'CONVERSATION.MARK_READ': { actions: forward },
    'PEER.RECEIVED': { actions: forward },
    'PEER.ACKED': { actions: forward },
    'PEER.FAILED': { actions: forward },
  },
  states: {
    signedOut: {
      entry: ['dropSession', endConversations],
      on: {
        SIGNUP: { target: 'signingUp', actions: 'clearReasons' },
        LOGIN: { target: 'authenticating', actions: 'clearReasons' },
      },
    },

    signingUp: {
      invoke: {
        src: 'signUp',
        input: ({ event }) => {
          assertEvent(event, 'SIGNUP');
          return { email: event.email, password: event.password };
        },
        onDone: [
          {
            guard: ({ event }) => event.output.ok,
            target: '#session.online.presence.syncing',
            actions: [
              { type: 'resetConversations', params: ({ event }) => ({ email: event.output.ok ? event.output.email : null }) },
              assign(({ context, event }) => established(context, event.output)),
            ],
          },
          { target: 'signedOut', actions: assign({ error: ({ event }) => failure(event.output) }) },
        ],
        onError: { target: 'signedOut', actions: assign({ error: { reason: 'server_error' } }) },
      },
    },

    authenticating: {
      invoke: {
        src: 'logIn',
        input: ({ event }) => {
          assertEvent(event, 'LOGIN');
          return { email: event.email, password: event.password };
        },
        onDone: [
          {
            guard: ({ event }) => event.output.ok,
            target: '#session.online.presence.syncing',
            actions: [
              { type: 'resetConversations', params: ({ event }) => ({ email: event.output.ok ? event.output.email : null }) },
              assign(({ context, event }) => established(context, event.output)),
            ],
          },
          { target: 'signedOut', actions: assign({ error: ({ event }) => failure(event.output) }) },
        ],
        onError: { target: 'signedOut', actions: assign({ error: { reason: 'server_error' } }) },
      },
    },

    online: {
      type: 'parallel',
      entry: ['link', tellPresence],
      // a sync cut short by leaving `online` is abandoned; after a resume the first TRUCO decides
      exit: [assign({ roster: ({ context }) => cancelSync(context.roster) }), 'unlink', tellPresence],
      on: {
        'SERVER.KICK': [
          {
            guard: ({ event }) => event.reason === 'elsewhere' || event.reason === 'ticket_revoked',
            target: 'kicked',
            actions: assign({
              kickReason: ({ event }): KickedReason => (event.reason === 'elsewhere' ? 'elsewhere' : 'ticket_revoked'),
            }),
          },
          {
            target: 'reconnecting',
            actions: assign({
              reconnectCause: ({ event }): ReconnectCause => (event.reason === 'shutdown' ? 'shutdown' : 'dropped'),
            }),
          },
        ],
        'SERVER.STALE': { target: 'reconnecting', actions: assign({ reconnectCause: 'dropped' }) },
        LOGOUT: { target: 'signingOut' },
      },
      states: {
        link: {
          initial: 'live',
          states: {
            live: {
              initial: 'hearing',
              after: {
                watchdog: { target: '#session.reconnecting', actions: assign({ reconnectCause: 'silence' }) },
              },
              states: {
                hearing: { after: { linkQuiet: 'quiet' } },
                quiet: {
                  // probe 0 answers no probe: any authenticated datagram is life, and moves the
                  // session to the address it came from
                  entry: { type: 'sendSeis', params: ({ context }) => ({ probe: 0, ...rosterVersionForSeis(context.roster) }) },
                  after: { keepalive: { target: 'quiet', reenter: true } },
                },
              },
              on: {
                'SERVER.HOLD': { target: 'held', actions: assign({ holdMs: ({ event }) => event.waitMs }) },
                'SERVER.TRUCO': {
                  // re-entering restarts the watchdog
                  target: 'live',
                  reenter: true,
                  actions: [
                    assign({ roster: ({ context, event }) => onTruco(context.roster, event.truco).roster }),
                    tellPresence,
                    {
                      type: 'sendSeis',
                      params: ({ context, event }) => ({
                        probe: event.truco.probe,
                        ...rosterVersionForSeis(context.roster),
                      }),
                    },
                  ],
                },
              },
            },
            held: {
              // A restarted server restored this session and lost its keys: it has promised a
              // STALE (online's handler resumes at once) when its turn comes, instead of every
              // client's watchdog firing together into a server busy with resumes. No watchdog
              // and no keepalive here; if the STALE never comes, resume when the wait is over.
              after: { hold: { target: '#session.reconnecting', actions: assign({ reconnectCause: 'dropped' }) } },
            },
          },
        },
        presence: {
          initial: 'idle',
          states: {
            idle: {
              on: {
                'SERVER.TRUCO': {
                  guard: ({ context, event }) => trucoNeedsSync(context.roster, event.truco),
                  target: 'syncing',
                  actions: assign(({ context }) => ({
                    roster: startSync(context.roster, context.nextRequest),
                    nextRequest: nextRequestId(context.nextRequest),
                  })),
                },
              },
            },
            syncing: {
              entry: {
                type: 'requestRoster',
                params: ({ context }) => ({
                  request: context.roster.sync?.request ?? 0,
                  cursor: context.roster.sync?.cursor ?? '',
                }),
              },
              // no answer: ask again for the same page, with the same request id
              after: { pageTimeout: { target: 'syncing', reenter: true } },
              on: {
                'SERVER.ROSTER_PAGE': [
                  {
                    guard: ({ context, event }) => pageEffect(context.roster, event.page) === 'done',
                    target: 'idle',
                    actions: [assign({ roster: ({ context, event }) => onPage(context.roster, event.page).roster }), tellPresence],
                  },
                  {
                    guard: ({ context, event }) => pageEffect(context.roster, event.page) === 'next',
                    target: 'syncing',
                    reenter: true,
                    actions: assign(({ context, event }) => {
                      const { roster, next } = onPage(context.roster, event.page);
                      return { roster, nextRequest: next ? nextRequestId(next.request) : context.nextRequest };
                    }),
                  },
                ],
              },
            },
          },
        },
      },
    },

    reconnecting: {
      initial: 'trying',
      after: {
        reconnectGiveUp: [
          {
            guard: ({ context }) => context.reconnectCause === 'dropped',
            target: 'kicked',
            actions: assign({ kickReason: 'dropped' }),
          },
          { target: 'signedOut', actions: assign({ signedOutReason: 'server_unreachable' }) },
        ],
      },
      on: {
        LOGOUT: { target: 'signedOut', actions: assign({ signedOutReason: 'logout' }) },
      },
      states: {
        trying: {
          invoke: {
            src: 'resume',
            input: ({ context }) => ({ email: context.email ?? '' }),
            onDone: [
              {
                // the roster is kept as is: the first TRUCO tells whether it must resync
                guard: ({ event }) => event.output.ok,
                target: '#session.online',
                actions: assign(({ event }) =>
                  event.output.ok
                    ? { session: event.output.session, email: event.output.email, error: null, reconnectCause: null }
                    : {},
                ),
              },
              {
                guard: ({ event }) => !event.output.ok && event.output.reason === 'ticket_refused',
                target: '#session.kicked',
                actions: assign({ kickReason: 'ticket_revoked', error: ({ event }) => failure(event.output) }),
              },
              {
                guard: ({ event }) => !event.output.ok && RETRYABLE.has(event.output.reason),
                target: 'waiting',
                actions: assign({ error: ({ event }) => failure(event.output) }),
              },
              {
                // a refusal retrying cannot fix (unknown_email, server_key_changed, …)
                target: '#session.kicked',
                actions: assign({ kickReason: 'refused', error: ({ event }) => failure(event.output) }),
              },
            ],
            onError: { target: 'waiting', actions: assign({ error: { reason: 'server_error' } }) },
          },
        },
        waiting: {
          after: { resumeRetry: { target: 'trying' } },
        },
      },
    },

    signingOut: {
      invoke: {
        src: 'logOut',
        onDone: { target: 'signedOut', actions: assign({ signedOutReason: 'logout' }) },
        onError: { target: 'signedOut', actions: assign({ signedOutReason: 'logout' }) },
      },
    },

    kicked: {
      entry: ['dropSession', endConversations],
      on: {
        SIGNUP: { target: 'signingUp', actions: 'clearReasons' },
        LOGIN: { target: 'authenticating', actions: 'clearReasons' },
      },
    },
  },
});

export type SessionMachine = typeof sessionMachine;
