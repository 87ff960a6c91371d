/**
 * The headless chat client: one UDP socket on an ephemeral port, the session
 * machine with its effects provided, and a small API that the terminal
 * client, the tests and the benchmarks all use.
 *
 *   const c = await createChatClient({ server: { host, port }, dataDir });
 *   c.logIn(email, password); c.subscribe(snap => …); await c.logOut(); await c.stop();
 *
 * Conversations (issue 3): `openConversation`, `send`, `retry`, `markRead`, `conversations()`
 * and `subscribeConversations`. Chat goes straight to the peer (runtime/peer/hub.ts), end-to-end
 * encrypted with keys derived from the peer keys the server publishes with presence.
 *
 * The password goes from the call straight into the handshake and is not kept;
 * the resumption ticket and the session keys live here, never in the machine.
 */
import { err, ok, type Result } from 'neverthrow';
import { createActor, fromPromise, waitFor, type Actor, type AnyActorRef, type SnapshotFrom } from 'xstate';
import { conversationMachine, viewOf, withDelivered, type ChatLine, type ChatLineMessage, type ConversationEvent, type ConversationView, type InboundMessage, type OutboundMessage } from '../machines/conversation.ts';
import { conversationId, sessionMachine, type AuthOutcome, type SessionInfo } from '../machines/session.ts';
import { rosterHeld } from '../machines/presence.ts';
import { tuneHeap } from './heap.ts';
import { realClock, type Clock } from './peer/clock.ts';
import type { DeliveryConfig } from './peer/delivery.ts';
import { PeerHub } from './peer/hub.ts';
import { checkText, newMessageId, sendError, type SendError } from './peer/text.ts';
import { generateKeyPair, type KeyPair } from './crypto/keys.ts';
import { clientKeys, createSession, type SessionCipher } from './crypto/session.ts';
import type { Split } from './crypto/noise.ts';
import { DEFAULT_TIMING, HandshakeDesk, type Timing } from './handshake.ts';
import { checkServerKey, fingerprint, lookupServerKey, rememberServerKey } from './known-servers.ts';
import { silentLogger, type Logger } from './log.ts';
import { holdToken, sameToken } from './crypto/reset.ts';
import { ensureDir } from './paths.ts';
import { bindUdp, formatAddress, sameAddress, toAddress, type Udp } from './udp.ts';
import { decodeBody, encodeBody } from './wire/body.ts';
import { decodeOuter, sessionDatagram } from './wire/outer.ts';
import { SESSION_HEADER_SIZE } from './wire/constants.ts';
import type { Address, AuthRequest, AuthResult, Member, SessionBody } from './wire/types.ts';

export type { ChatLine, ChatLineMessage, ChatLineSystem, ConversationView } from '../machines/conversation.ts';
export type { SendError } from './peer/text.ts';
export { MAX_MESSAGE_BYTES } from './peer/text.ts';

/** How long a handshake may go unanswered before the client checks whether the server's key changed. */
const KEY_CHECK_MS = 600;

/**
 * How long what was sent, received and acknowledged may wait before the conversation machines
 * take it (PROTOCOL.md §8.4); `conversations()` shows it meanwhile. Messages one after another take
 * ~0.1 ms each on loopback: their bookkeeping is done once for ~20 of them instead of once each.
 */
export const SETTLE_MS = 2;

export type SessionSnapshot = SnapshotFrom<typeof sessionMachine>;

/** `s.matches('online')`, without the state value `matches` builds on each call (this runs on every send) */
const isOnline = (s: SessionSnapshot): boolean => typeof s.value === 'object' && 'online' in s.value;

export interface ServerKeyInfo {
  fingerprint: string;
  /** 'pinned': first contact, pinned now; 'known': matches the pin; 'given': --server-key */
  status: 'pinned' | 'known' | 'given';
}

export interface KeyProblem {
  server: string;
  expected: string;
  got: string;
}

export interface ClientOptions {
  server: { host: string; port: number };
  /** where known_servers (and later the history) live */
  dataDir: string;
  /** an explicit server key (`--server-key`): pinned, replacing any earlier pin */
  serverKey?: Uint8Array;
  logger?: Logger;
  /** local address to bind (default: the wildcard of the server's family) */
  bindHost?: string;
  timing?: Timing;
  /** delivery engine settings (tests shorten the give-up time) */
  delivery?: Partial<DeliveryConfig>;
  /** the clock of the delivery engine (default: the real one) */
  clock?: Clock;
  /** sees every datagram this client sends ('out') or receives ('in'), for tests that look at the wire */
  tap?: (dir: 'out' | 'in', bytes: Uint8Array, peer: Address) => void;
  /** xstate inspection observer (the inspector wires it) */
  inspect?: Parameters<typeof createActor>[1] extends infer O ? (O extends { inspect?: infer I } ? I : never) : never;
}

export interface ClientStats {
  /** dropped datagrams by reason; peer traffic under 'peer.*' (forged, replayed, unknown_sender, …) */
  dropped: Record<string, number>;
}

export interface ChatClient {
  readonly actor: Actor<typeof sessionMachine>;
  readonly address: Address;
  readonly udp: Udp;
  readonly stats: ClientStats;
  /** the server key as last seen, and whether it was pinned now */
  readonly serverKeyInfo: ServerKeyInfo | null;
  /** set when the server presented a key other than the pinned one */
  readonly keyProblem: KeyProblem | null;
  /** our public peer key of the current login (published by the server with our presence) */
  readonly peerPublicKey: Uint8Array | null;
  signUp(email: string, password: string): void;
  logIn(email: string, password: string): void;
  logOut(): void;
  getSnapshot(): SessionSnapshot;
  subscribe(fn: (s: SessionSnapshot) => void): () => void;
  /** resolves with the first snapshot that satisfies `pred` */
  waitFor(pred: (s: SessionSnapshot) => boolean, timeoutMs?: number): Promise<SessionSnapshot>;
  /** opens (or shows) the conversation with `email`; the initial state follows the roster */
  openConversation(email: string): void;
  /** sends a message; the id names its line in the conversation */
  send(email: string, text: string): Result<string, SendError>;
  /** sends a failed message again (once the peer is back) */
  retry(email: string, messageId: string): Result<void, SendError>;
  markRead(email: string): void;
  conversations(): ReadonlyMap<string, ConversationView>;
  subscribeConversations(fn: (all: ReadonlyMap<string, ConversationView>) => void): () => void;
  /** the peer side: channels, delivery statistics */
  readonly peers: PeerHub;
  /** logs out if online, then closes the socket */
  stop(): Promise<void>;
}

/** An outbound line by id, searched from the newest. */
function findOutbound(lines: readonly ChatLine[], id: string): ChatLineMessage | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (l.kind === 'message' && l.direction === 'out' && l.id === id) return l;
  }
  return undefined;
}

/** The form of an email the server keeps (see runtime/validate.ts). */
const canonicalPeer = (raw: string): string =>
  typeof raw === 'string' ? raw.trim().normalize('NFC').toLowerCase().normalize('NFC') : '';

interface Live {
  sid: number;
  cipher: SessionCipher;
  ticket: Uint8Array;
  /** what a genuine STALE for this session carries */
  resetToken: Uint8Array;
  /** what a genuine HOLD for this session carries (made from the reset token) */
  holdToken: Uint8Array;
  email: string;
}

export async function createChatClient(opts: ClientOptions): Promise<ChatClient> {
  // young collections stay short with conversations copying their lines (runtime/heap.ts)
  tuneHeap();
  const log = opts.logger ?? silentLogger;
  const server = toAddress(opts.server.host, opts.server.port);
  const serverName = `${opts.server.host}:${opts.server.port}`;
  const dir = ensureDir(opts.dataDir);
  if (dir.isErr()) throw new Error(dir.error.message);
  if (opts.serverKey) {
    const r = rememberServerKey(opts.dataDir, serverName, opts.serverKey);
    if (r.isErr()) throw new Error(r.error.message);
  }
  const socket = await bindUdp({ host: opts.bindHost ?? (server.family === 6 ? '::' : '0.0.0.0'), port: 0 });
  const tap = opts.tap;
  const udp: Udp = tap
    ? {
        ...socket,
        address: socket.address,
        stats: socket.stats,
        send(bytes, to) {
          tap('out', bytes, to);
          socket.send(bytes, to);
        },
        onMessage: (h) => socket.onMessage(h),
        close: () => socket.close(),
      }
    : socket;
  const desk = new HandshakeDesk(udp, server, opts.timing ?? DEFAULT_TIMING);
  const dropped: Record<string, number> = {};
  const drop = (why: string) => {
    dropped[why] = (dropped[why] ?? 0) + 1;
  };

  let live: Live | null = null;
  let ticket: Uint8Array | null = null;
  let peerKeys: KeyPair | null = null;
  let keyInfo: ServerKeyInfo | null = opts.serverKey ? { fingerprint: fingerprint(opts.serverKey), status: 'given' } : null;
  let keyProblem: KeyProblem | null = null;
  let byeAck: (() => void) | null = null;

  // ---- the server's key: pinned, given, or learnt on first use --------------------------------
  async function serverKey(signal?: AbortSignal): Promise<Uint8Array | 'unreachable' | 'changed'> {
    const pinned = lookupServerKey(opts.dataDir, serverName);
    if (pinned) {
      if (!keyInfo) keyInfo = { fingerprint: fingerprint(pinned), status: 'known' };
      return pinned;
    }
    const fetched = await desk.fetchKey(signal);
    if (fetched.isErr()) return 'unreachable';
    const checked = checkServerKey(opts.dataDir, serverName, fetched.value);
    if (checked.isErr()) {
      if (checked.error.type === 'ServerKeyChanged') {
        keyProblem = { server: serverName, expected: checked.error.expected, got: checked.error.got };
        return 'changed';
      }
      log.error('known_servers.unusable', { error: checked.error.message });
      return 'unreachable';
    }
    keyInfo = { fingerprint: fingerprint(fetched.value), status: checked.value.status };
    log.info('server.key', { server: serverName, fingerprint: keyInfo.fingerprint, status: keyInfo.status });
    return fetched.value;
  }

  /**
   * While a handshake with a pinned key goes unanswered: what key does the server's address
   * claim? A KEY is not authenticated (anyone on the LAN can send one from the server's address),
   * so a different key is only a suspicion, acted on if the handshake itself never completes.
   */
  async function askKey(pinned: Uint8Array, signal?: AbortSignal): Promise<KeyProblem | null> {
    const fetched = await desk.fetchKey(signal);
    if (fetched.isErr()) return null;
    if (Buffer.from(fetched.value).equals(Buffer.from(pinned))) return null;
    return { server: serverName, expected: fingerprint(pinned), got: fingerprint(fetched.value) };
  }

  function outcomeOf(result: AuthResult, split: Split, email: string): AuthOutcome {
    switch (result.status) {
      case 'session': {
        const session: SessionInfo = {
          sid: result.sid,
          intervalMs: result.intervalMs,
          misses: result.misses,
          epoch: result.epoch,
          address: result.address,
        };
        live = { sid: result.sid, cipher: createSession(clientKeys(split)), ticket: result.ticket, resetToken: result.resetToken, holdToken: holdToken(result.resetToken), email };
        ticket = result.ticket;
        if (peerKeys) hub.start(peerKeys, email);
        return { ok: true, session, email };
      }
      case 'rate_limited':
        return { ok: false, reason: 'rate_limited', retryAfterS: result.retryAfterS };
      case 'signed_up':
        return { ok: false, reason: 'server_error' };
      default:
        return { ok: false, reason: result.status };
    }
  }

  async function run(request: AuthRequest, signal?: AbortSignal): Promise<{ result: AuthResult; split: Split } | AuthOutcome> {
    const key = await serverKey(signal);
    if (key === 'unreachable') return { ok: false, reason: 'server_unreachable' };
    if (key === 'changed') return { ok: false, reason: 'server_key_changed' };
    // A server that cannot decrypt our HELLO stays silent. If it has not answered within
    // KEY_CHECK_MS, ask for its key meanwhile. An unauthenticated KEY never ends the attempt:
    // a spoofer on the LAN could otherwise refuse every login with "server key changed". Only a
    // handshake that never completes, while the address claims another key, is reported as a
    // changed key (PROTOCOL.md §3.1).
    const attempt = new AbortController();
    const onAbort = () => attempt.abort();
    signal?.addEventListener('abort', onAbort);
    let claimed = null as KeyProblem | null;
    const check = setTimeout(() => {
      void askKey(key, attempt.signal).then((p) => {
        if (!p) return;
        claimed = p;
        log.warn('server.key_mismatch', { server: p.server, expected: p.expected, got: p.got });
      });
    }, KEY_CHECK_MS);
    const r = await desk.authenticate(key, request, attempt.signal);
    clearTimeout(check);
    signal?.removeEventListener('abort', onAbort);
    attempt.abort(); // ends a key check still waiting
    if (r.isOk()) {
      if (claimed) log.warn('server.key_mismatch_ignored', { reason: 'the pinned key completed the handshake' });
      keyProblem = null;
      return r.value;
    }
    if (r.error.type === 'Unreachable' && claimed) {
      keyProblem = claimed;
      return { ok: false, reason: 'server_key_changed' };
    }
    return { ok: false, reason: r.error.type === 'Internal' ? 'server_error' : 'server_unreachable' };
  }

  const isOutcome = (x: unknown): x is AuthOutcome => typeof x === 'object' && x !== null && 'ok' in x;

  async function login(email: string, password: string, signal?: AbortSignal): Promise<AuthOutcome> {
    peerKeys = generateKeyPair();
    const r = await run({ kind: 'login', email, password, peerKey: peerKeys.publicKey }, signal);
    if (isOutcome(r)) return r;
    return outcomeOf(r.result, r.split, email.trim().toLowerCase());
  }

  const machine = sessionMachine.provide({
    actors: {
      logIn: fromPromise<AuthOutcome, { email: string; password: string }>(({ input, signal }) => login(input.email, input.password, signal)),
      signUp: fromPromise<AuthOutcome, { email: string; password: string }>(async ({ input, signal }) => {
        const r = await run({ kind: 'signup', email: input.email, password: input.password }, signal);
        if (isOutcome(r)) return r;
        if (r.result.status !== 'signed_up') return outcomeOf(r.result, r.split, input.email);
        log.info('account.signed_up', { email: input.email });
        return login(input.email, input.password, signal);
      }),
      resume: fromPromise<AuthOutcome, { email: string }>(async ({ input, signal }) => {
        if (!ticket) return { ok: false, reason: 'ticket_refused' };
        live = null;
        // A resume is the same login: the peer key (and so every chat channel) carries over.
        peerKeys ??= generateKeyPair();
        // the roster we hold, so the server's first TRUCO brings the deltas since (not a resync)
        const r = await run({ kind: 'resume', email: input.email, ticket, peerKey: peerKeys.publicKey, ...rosterHeld(actor.getSnapshot().context.roster) }, signal);
        if (isOutcome(r)) return r;
        const o = outcomeOf(r.result, r.split, input.email);
        if (o.ok) log.info('session.resumed', { email: input.email });
        return o;
      }),
      logOut: fromPromise<void>(async () => {
        const current = live;
        if (!current) return;
        await new Promise<void>((resolve) => {
          let tries = 0;
          const send = () => {
            if (tries++ >= 4) return done();
            sendBody({ type: 'BYE' });
            timer = setTimeout(send, 250);
          };
          let timer: NodeJS.Timeout | undefined;
          const done = () => {
            clearTimeout(timer);
            byeAck = null;
            resolve();
          };
          byeAck = done;
          send();
        });
        live = null;
        ticket = null;
        peerKeys = null;
        hub.stop();
      }),
      conversation: conversationMachine.provide({
        actions: {
          transmit: (_, p) => {
            for (const m of p.messages) {
              // already handed to the hub by `send()`, ahead of the machine (see there)
              if (sentAhead.delete(m.id)) continue;
              const r = hub.send(p.peer, m.id, m.text);
              if (r.isErr()) {
                unsettledOf(p.peer).failed.push(m.id);
                touched();
              }
            }
          },
          cancelDelivery: (_, p) => {
            sentAhead.delete(p.id);
            hub.abandon(p.peer, p.id);
          },
        },
      }),
    },
    actions: {
      sendSeis: (_, p) => sendBody({ type: 'SEIS', probe: p.probe, epoch: p.epoch, version: p.version }),
      requestRoster: (_, p) => sendBody({ type: 'ROSTER_REQ', request: p.request, cursor: p.cursor }),
    },
  });

  // ---- the peer side ---------------------------------------------------------------------------
  // What the hub reports and what the user sends reach the conversations in batches (PROTOCOL.md
  // §8.4): per peer, the messages sent and received in the order they happened (each run of them
  // one SEND.BATCH or RECEIVED.BATCH, in that order), then one DELIVERY.BATCH with the
  // acknowledgements and failures. The machines take it every SETTLE_MS, and at once before any
  // other event reaches the session (a datagram from the server, a call of this API), so they see
  // every event in the order it happened. Until then `conversations()` shows it as the machines
  // will (`withUnsettled`), from the moment it happened (listeners hear at the end of that pass of
  // the event loop, see `touched`), and the machines' bookkeeping is done once for every message
  // of those milliseconds instead of once per message.
  interface Unsettled {
    /** messages sent and received, in order */
    lines: Array<{ out: true; m: OutboundMessage } | { out: false; m: InboundMessage }>;
    /** ids of the sent messages among `lines` */
    sent: Set<string>;
    /** ids the hub reported acknowledged: those among `sent`, and the others (lines the conversation holds) */
    ackedHere: Set<string>;
    ackedBefore: Set<string>;
    failed: string[];
  }
  const unsettled = new Map<string, Unsettled>();
  const unsettledOf = (peer: string): Unsettled => {
    let u = unsettled.get(peer);
    if (!u) unsettled.set(peer, (u = { lines: [], sent: new Set(), ackedHere: new Set(), ackedBefore: new Set(), failed: [] }));
    return u;
  };
  /** bumped on every change of `unsettled`: with the machines' views, the key of `shown` */
  let version = 0;
  let settleTimer: NodeJS.Timeout | null = null;
  let viewNotice = false;
  /**
   * `unsettled` changed: the conversations take it within SETTLE_MS (`soon`: at the end of this
   * pass of the event loop). Listeners hear of a message received or acknowledged at the end of
   * this pass (once for all the datagrams read in it); of a message sent (`tell` false) when the
   * conversation takes it: the caller of `send()` knows already, and `conversations()` shows it
   * from the start.
   */
  const touched = (soon = false, tell = true): void => {
    version++;
    if (soon) setImmediate(settle);
    else settleTimer ??= setTimeout(settle, SETTLE_MS);
    if (!tell || viewNotice) return;
    viewNotice = true;
    setImmediate(() => {
      viewNotice = false;
      notifyViews();
    });
  };
  let settling = false;
  /** Hands everything unsettled to the conversations, in order; listeners are told once, after. */
  function settle(): void {
    if (settleTimer !== null) {
      clearTimeout(settleTimer);
      settleTimer = null;
    }
    if (unsettled.size === 0) return;
    const all = [...unsettled];
    unsettled.clear();
    version++;
    // stopped with something still unsettled (an ACK read just before `stop()`): nobody to tell
    if (actor.getSnapshot().status === 'stopped') return;
    settling = true;
    try {
      for (const [peer, u] of all) {
        const ref = conversationRef(peer);
        for (let i = 0; i < u.lines.length; ) {
          const out = u.lines[i]!.out;
          const run: Array<OutboundMessage & InboundMessage> = [];
          for (; i < u.lines.length && u.lines[i]!.out === out; i++) run.push(u.lines[i]!.m);
          if (ref) ref.send(out ? { type: 'SEND.BATCH', messages: run } : { type: 'RECEIVED.BATCH', messages: run });
          // no conversation yet: the session opens one for the first message
          else for (const m of run) actor.send(out ? { type: 'CONVERSATION.SEND', peer, ...m } : { type: 'PEER.RECEIVED', peer, ...m });
        }
        const acked = [...u.ackedBefore, ...u.ackedHere];
        if (ref) {
          if (acked.length + u.failed.length > 0) ref.send({ type: 'DELIVERY.BATCH', acked, failed: u.failed });
          continue;
        }
        for (const id of acked) actor.send({ type: 'PEER.ACKED', peer, id });
        for (const id of u.failed) actor.send({ type: 'PEER.FAILED', peer, id });
      }
    } finally {
      settling = false;
    }
    notifyViews();
  }
  /** Before an event reaches the session: the conversations first take what happened before it. */
  const settleFirst = (): void => {
    if (unsettled.size > 0) settle();
  };
  /** An event from a call of this API: after what happened before it (`settleFirst`). */
  const toSession = (event: Parameters<typeof actor.send>[0]): void => {
    settleFirst();
    actor.send(event);
  };
  /**
   * Ids `send()` handed to the hub before the conversation took them: the datagram leaves at once,
   * not after the machine's transition. The machine still decides: its `transmit` for such an id
   * is then a no-op, and if it refuses the batch (the peer left before it took it) its
   * `cancelDelivery` abandons what was sent ahead.
   */
  const sentAhead = new Set<string>();
  /** the machines' views with what they have not taken yet (made on demand, kept while nothing changes) */
  let shown: { views: ReadonlyMap<string, ConversationView>; version: number; all: ReadonlyMap<string, ConversationView> } | null = null;
  const currentViews = (): ReadonlyMap<string, ConversationView> => {
    if (unsettled.size === 0) return views;
    if (shown && shown.views === views && shown.version === version) return shown.all;
    const all = new Map(views);
    for (const [peer, u] of unsettled) {
      const v = all.get(peer);
      if (v) all.set(peer, withUnsettled(v, u));
    }
    shown = { views, version, all };
    return all;
  };
  /** `v` as the conversation will show it once it took `u` (sent lines pending or delivered, received ones delivered), in one copy of its lines. */
  const withUnsettled = (v: ConversationView, u: Unsettled): ConversationView => {
    const marked = u.ackedBefore.size > 0 ? withDelivered(v.lines, u.ackedBefore) : v.lines;
    if (u.lines.length === 0) return { ...v, lines: marked };
    const lines: ChatLine[] = marked === v.lines ? v.lines.slice() : (marked as ChatLine[]);
    let received = 0;
    for (const { out, m } of u.lines) {
      if (!out) received++;
      lines.push(
        out
          ? { kind: 'message', id: m.id, direction: 'out', text: m.text, at: m.at, state: u.ackedHere.has(m.id) ? 'delivered' : 'pending' }
          : { kind: 'message', id: m.id, direction: 'in', text: m.text, at: m.at, state: 'delivered' },
      );
    }
    return { ...v, lines, unread: v.unread + received };
  };

  const noMembers: ReadonlyMap<string, Member> = new Map();
  const hub = new PeerHub({
    clock: opts.clock ?? realClock,
    send: (bytes, to) => udp.send(bytes, to),
    members: () => (started ? actor.getSnapshot().context.roster.members : noMembers),
    drop,
    defer: (fn) => setImmediate(fn),
    pack: (fn) => queueMicrotask(fn),
    ...(opts.delivery ? { delivery: opts.delivery } : {}),
    events: {
      received: (peer, id, text) => {
        unsettledOf(peer).lines.push({ out: false, m: { id, text, at: Date.now() } });
        // with no conversation to show it in yet, the session opens one at the end of this pass
        touched(!views.has(peer));
      },
      acked: (peer, id) => {
        const u = unsettledOf(peer);
        (u.sent.has(id) ? u.ackedHere : u.ackedBefore).add(id);
        touched();
      },
      failed: (peer, id) => {
        unsettledOf(peer).failed.push(id);
        touched();
      },
    },
  });
  let started = false;

  const actor = createActor(machine, { input: { server: serverName }, ...(opts.inspect ? { inspect: opts.inspect } : {}) });
  actor.subscribe({ error: (e) => log.error('session.error', { error: String(e) }) });

  // ---- conversation views: one subscription per conversation child -----------------------------
  type ConversationRef = AnyActorRef & { getSnapshot(): Parameters<typeof viewOf>[0]; send(e: ConversationEvent): void };
  /** the session's conversation child for `peer`, if it has one */
  const conversationRef = (peer: string): ConversationRef | undefined =>
    actor.getSnapshot().children[conversationId(peer)] as ConversationRef | undefined;
  const watched = new Map<string, { ref: ConversationRef; unsubscribe: () => void }>();
  let views: ReadonlyMap<string, ConversationView> = new Map();
  const viewListeners = new Set<(all: ReadonlyMap<string, ConversationView>) => void>();
  /** every listener gets what `conversations()` shows: the machines' views with the runtime's overlays */
  const notifyViews = () => {
    if (viewListeners.size === 0) return;
    const all = currentViews();
    for (const l of viewListeners) l(all);
  };
  const publishViews = () => {
    const next = new Map<string, ConversationView>();
    for (const [peer, w] of watched) next.set(peer, viewOf(w.ref.getSnapshot()));
    views = next;
    notifyViews();
  };
  /** one conversation changed: only its view is made again (listeners hear once `settle` is done, if it runs) */
  const publishView = (peer: string, ref: ConversationRef) => {
    if (watched.get(peer)?.ref !== ref) return;
    const next = new Map(views);
    next.set(peer, viewOf(ref.getSnapshot()));
    views = next;
    if (!settling) notifyViews();
  };
  let lastMembers: ReadonlyMap<string, Member> | null = null;
  const onSession = (s: SessionSnapshot) => {
    // the hub follows the roster (a peer's new key closes its old channel) and our own login
    if (s.context.roster.members !== lastMembers) {
      lastMembers = s.context.roster.members;
      hub.refresh();
    }
    if ((s.matches('signedOut') || s.matches('kicked')) && hub.running) hub.stop();
    // Signed out or kicked without a BYE (e.g. logging out while reconnecting): the ticket is
    // of no more use here, and must not outlive the login in memory.
    if ((s.matches('signedOut') || s.matches('kicked')) && ticket !== null) {
      live = null;
      ticket = null;
    }
    let changed = false;
    for (const peer of s.context.conversations) {
      if (watched.has(peer)) continue;
      const ref = s.children[conversationId(peer)] as ConversationRef | undefined;
      if (!ref) continue;
      const sub = ref.subscribe({ next: () => publishView(peer, ref), error: (e: unknown) => log.error('conversation.error', { error: String(e) }) });
      watched.set(peer, { ref, unsubscribe: () => sub.unsubscribe() });
      changed = true;
    }
    for (const [peer, w] of watched) {
      if (s.children[conversationId(peer)] === w.ref) continue;
      w.unsubscribe();
      watched.delete(peer);
      changed = true;
    }
    if (changed) publishViews();
  };
  actor.subscribe({ next: onSession, error: () => {} });
  actor.start();
  started = true;

  function sendBody(body: SessionBody): void {
    const s = live;
    if (!s) return;
    const encoded = encodeBody(body);
    if (encoded.isErr()) return log.error('encode.failed', { what: body.type });
    const counter = s.cipher.tx.takeNumber();
    if (counter < 0) return;
    const out = sessionDatagram(encoded.value.code, s.sid, counter, encoded.value.bytes.length);
    s.cipher.tx.sealAfter(counter, out, SESSION_HEADER_SIZE, encoded.value.bytes);
    udp.send(out, server);
  }

  udp.onMessage((bytes, from) => {
    tap?.('in', bytes, from);
    const outer = decodeOuter(bytes);
    if (outer.isErr()) return drop(sameAddress(from, server) ? 'wire.' + outer.error.reason : 'foreign');
    const m = outer.value;
    if (m.type === 'PEER') return hub.receive(m, from);
    // what the server says may change the session and its conversations: they first take what came before
    settleFirst();
    if (!sameAddress(from, server)) return drop('foreign');
    if (m.type === 'WELCOME' || m.type === 'AUTH_RESULT' || m.type === 'KEY') {
      if (!desk.deliver(m)) drop('handshake.unexpected');
      return;
    }
    if (m.type === 'STALE') {
      // believed only with the reset token the server gave this session (PROTOCOL.md §2.6)
      if (live && m.sid === live.sid && sameToken(m.token, live.resetToken)) actor.send({ type: 'SERVER.STALE' });
      else drop(live && m.sid === live.sid ? 'stale.forged' : 'stale.other');
      return;
    }
    if (m.type === 'HOLD') {
      // a restarted server that restored this session: wait for its STALE (PROTOCOL.md §2.7)
      if (live && m.sid === live.sid && sameToken(m.token, live.holdToken)) actor.send({ type: 'SERVER.HOLD', waitMs: m.waitMs });
      else drop(live && m.sid === live.sid ? 'hold.forged' : 'hold.other');
      return;
    }
    if (m.type !== 'SESSION') return drop('wire.direction');
    const s = live;
    if (!s || m.sid !== s.sid) return drop('session.unknown');
    const plain = s.cipher.rx.open(m.counter, m.aad, m.sealed);
    if (plain.isErr()) return drop('session.' + plain.error.type);
    const body = decodeBody(m.code, plain.value);
    if (body.isErr()) return drop('session.malformed');
    const b = body.value;
    switch (b.type) {
      case 'TRUCO': return actor.send({ type: 'SERVER.TRUCO', truco: b, at: Date.now() });
      case 'ROSTER_PAGE': return actor.send({ type: 'SERVER.ROSTER_PAGE', page: b, at: Date.now() });
      case 'KICK': {
        log.info('session.kick', { reason: b.reason });
        if (b.reason === 'elsewhere' || b.reason === 'ticket_revoked') {
          live = null;
          ticket = null;
        }
        return actor.send({ type: 'SERVER.KICK', reason: b.reason });
      }
      case 'BYE_ACK': {
        byeAck?.();
        return;
      }
      default:
        return drop('session.unexpected');
    }
  });

  let stopped = false;
  const client: ChatClient = {
    actor,
    address: udp.address,
    udp,
    stats: { dropped },
    get serverKeyInfo() {
      return keyInfo;
    },
    get keyProblem() {
      return keyProblem;
    },
    get peerPublicKey() {
      return peerKeys?.publicKey ?? null;
    },
    signUp: (email, password) => toSession({ type: 'SIGNUP', email, password }),
    logIn: (email, password) => toSession({ type: 'LOGIN', email, password }),
    logOut: () => toSession({ type: 'LOGOUT' }),
    getSnapshot: () => actor.getSnapshot(),
    subscribe(fn) {
      const sub = actor.subscribe({ next: fn, error: () => {} });
      return () => sub.unsubscribe();
    },
    waitFor: (pred, timeoutMs = 15_000) => waitFor(actor, pred, { timeout: timeoutMs }),
    peers: hub,
    openConversation(email) {
      toSession({ type: 'CONVERSATION.OPEN', peer: canonicalPeer(email) });
    },
    send(email, text) {
      const peer = canonicalPeer(email);
      const checked = checkText(text);
      if (checked.isErr()) return err(checked.error);
      if (!isOnline(actor.getSnapshot())) return err(sendError('not_online'));
      if (!views.has(peer)) toSession({ type: 'CONVERSATION.OPEN', peer });
      const before = views.get(peer);
      if (!before) return err(sendError('peer_offline'));
      if (!before.canSend) return err(sendError(before.reason ?? 'peer_offline'));
      const id = newMessageId();
      // An open conversation takes it with what else is unsettled, within SETTLE_MS; `conversations()`
      // shows it pending at once (should the conversation no longer be able to send by then, the
      // line shows failed, to be retried).
      if (conversationRef(peer)) {
        // The conversation can send (its view says so, and no other event reached it since):
        // the datagram leaves now; the machine takes the message when it settles.
        if (hub.send(peer, id, text).isOk()) sentAhead.add(id);
        const u = unsettledOf(peer);
        u.lines.push({ out: true, m: { id, text, at: Date.now() } });
        u.sent.add(id);
        touched(false, false);
        return ok(id);
      }
      toSession({ type: 'CONVERSATION.SEND', peer, id, text, at: Date.now() });
      const after = views.get(peer)?.lines;
      const last = after?.[after.length - 1];
      if (!last || last.id !== id) return err(sendError(views.get(peer)?.reason ?? 'peer_offline'));
      return ok(id);
    },
    retry(email, messageId) {
      settleFirst();
      const peer = canonicalPeer(email);
      const view = views.get(peer);
      const line = view ? findOutbound(view.lines, messageId) : undefined;
      if (!view || !line || line.state !== 'failed') return err(sendError('unknown_message'));
      if (!view.canSend) return err(sendError(view.reason ?? 'peer_offline'));
      actor.send({ type: 'CONVERSATION.RETRY', peer, id: messageId, at: Date.now() });
      const after = views.get(peer);
      if (after && findOutbound(after.lines, messageId)?.state !== 'pending') return err(sendError(after.reason ?? 'peer_offline'));
      return ok(undefined);
    },
    markRead(email) {
      toSession({ type: 'CONVERSATION.MARK_READ', peer: canonicalPeer(email) });
    },
    conversations: currentViews,
    subscribeConversations(fn) {
      viewListeners.add(fn);
      return () => {
        viewListeners.delete(fn);
      };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      settleFirst();
      if (actor.getSnapshot().matches('online')) {
        actor.send({ type: 'LOGOUT' });
        await waitFor(actor, (s) => !s.matches('signingOut'), { timeout: 3000 }).catch(() => {});
      }
      actor.stop();
      if (settleTimer !== null) clearTimeout(settleTimer);
      hub.stop();
      for (const w of watched.values()) w.unsubscribe();
      watched.clear();
      await udp.close();
      log.debug('client.stopped', { address: formatAddress(udp.address) });
    },
  };
  return client;
}
