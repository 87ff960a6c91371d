/**
 * The headless chat client: one UDP socket on an ephemeral port, the session
 * machine with its effects provided, and a small API that the terminal
 * client, the tests and the benchmarks all use.
 *
 *   const c = await createChatClient({ server: { host, port }, dataDir });
 *   c.logIn(email, password); c.subscribe(snap => …); await c.logOut(); await c.stop();
 *
 * The password goes from the call straight into the handshake and is not kept;
 * the resumption ticket and the session keys live here, never in the machine.
 */
import { createActor, fromPromise, waitFor, type Actor, type SnapshotFrom } from 'xstate';
import { sessionMachine, type AuthOutcome, type SessionInfo } from '../machines/session.ts';
import { generateKeyPair, type KeyPair } from './crypto/keys.ts';
import { clientKeys, createSession, type SessionCipher } from './crypto/session.ts';
import type { Split } from './crypto/noise.ts';
import { DEFAULT_TIMING, HandshakeDesk, type Timing } from './handshake.ts';
import { checkServerKey, fingerprint, lookupServerKey, rememberServerKey } from './known-servers.ts';
import { silentLogger, type Logger } from './log.ts';
import { ensureDir } from './paths.ts';
import { bindUdp, formatAddress, sameAddress, toAddress, type Udp } from './udp.ts';
import { decodeBody, encodeBody } from './wire/body.ts';
import { decodeOuter, encodeSessionHeader } from './wire/outer.ts';
import type { Address, AuthRequest, AuthResult, SessionBody } from './wire/types.ts';

export type SessionSnapshot = SnapshotFrom<typeof sessionMachine>;

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
  /** xstate inspection observer (the inspector wires it) */
  inspect?: Parameters<typeof createActor>[1] extends infer O ? (O extends { inspect?: infer I } ? I : never) : never;
}

export interface ClientStats {
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
  /** logs out if online, then closes the socket */
  stop(): Promise<void>;
}

interface Live {
  sid: number;
  cipher: SessionCipher;
  ticket: Uint8Array;
  email: string;
}

export async function createChatClient(opts: ClientOptions): Promise<ChatClient> {
  const log = opts.logger ?? silentLogger;
  const server = toAddress(opts.server.host, opts.server.port);
  const serverName = `${opts.server.host}:${opts.server.port}`;
  const dir = ensureDir(opts.dataDir);
  if (dir.isErr()) throw new Error(dir.error.message);
  if (opts.serverKey) {
    const r = rememberServerKey(opts.dataDir, serverName, opts.serverKey);
    if (r.isErr()) throw new Error(r.error.message);
  }
  const udp = await bindUdp({ host: opts.bindHost ?? (server.family === 6 ? '::' : '0.0.0.0'), port: 0 });
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

  /** After a failed handshake with a pinned key: is it because the server's key changed? */
  async function diagnoseKey(pinned: Uint8Array, signal?: AbortSignal): Promise<boolean> {
    const fetched = await desk.fetchKey(signal);
    if (fetched.isErr()) return false;
    if (Buffer.from(fetched.value).equals(Buffer.from(pinned))) return false;
    keyProblem = { server: serverName, expected: fingerprint(pinned), got: fingerprint(fetched.value) };
    return true;
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
        live = { sid: result.sid, cipher: createSession(clientKeys(split)), ticket: result.ticket, email };
        ticket = result.ticket;
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
    const r = await desk.authenticate(key, request, signal);
    if (r.isOk()) {
      keyProblem = null;
      return r.value;
    }
    if (r.error.type === 'Unreachable' && (await diagnoseKey(key, signal))) return { ok: false, reason: 'server_key_changed' };
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
        peerKeys = generateKeyPair();
        const r = await run({ kind: 'resume', email: input.email, ticket, peerKey: peerKeys.publicKey }, signal);
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
      }),
    },
    actions: {
      sendSeis: (_, p) => sendBody({ type: 'SEIS', probe: p.probe, epoch: p.epoch, version: p.version }),
      requestRoster: (_, p) => sendBody({ type: 'ROSTER_REQ', request: p.request, cursor: p.cursor }),
    },
  });

  const actor = createActor(machine, { input: { server: serverName }, ...(opts.inspect ? { inspect: opts.inspect } : {}) });
  actor.subscribe({ error: (e) => log.error('session.error', { error: String(e) }) });
  actor.start();

  function sendBody(body: SessionBody): void {
    const s = live;
    if (!s) return;
    const encoded = encodeBody(body);
    if (encoded.isErr()) return log.error('encode.failed', { what: body.type });
    const counter = s.cipher.tx.take();
    if (counter.isErr()) return;
    const header = encodeSessionHeader(encoded.value.code, s.sid, counter.value);
    udp.send(Buffer.concat([header, s.cipher.tx.seal(counter.value, header, encoded.value.bytes)]), server);
  }

  udp.onMessage((bytes, from) => {
    if (!sameAddress(from, server)) return drop('foreign');
    const outer = decodeOuter(bytes);
    if (outer.isErr()) return drop('wire.' + outer.error.reason);
    const m = outer.value;
    if (m.type === 'WELCOME' || m.type === 'AUTH_RESULT' || m.type === 'KEY') {
      if (!desk.deliver(m)) drop('handshake.unexpected');
      return;
    }
    if (m.type === 'STALE') {
      if (live && m.sid === live.sid) actor.send({ type: 'SERVER.STALE' });
      else drop('stale.other');
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
      case 'TRUCO': return actor.send({ type: 'SERVER.TRUCO', truco: b });
      case 'ROSTER_PAGE': return actor.send({ type: 'SERVER.ROSTER_PAGE', page: b });
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
    signUp: (email, password) => actor.send({ type: 'SIGNUP', email, password }),
    logIn: (email, password) => actor.send({ type: 'LOGIN', email, password }),
    logOut: () => actor.send({ type: 'LOGOUT' }),
    getSnapshot: () => actor.getSnapshot(),
    subscribe(fn) {
      const sub = actor.subscribe({ next: fn, error: () => {} });
      return () => sub.unsubscribe();
    },
    waitFor: (pred, timeoutMs = 15_000) => waitFor(actor, pred, { timeout: timeoutMs }),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (actor.getSnapshot().matches('online')) {
        actor.send({ type: 'LOGOUT' });
        await waitFor(actor, (s) => !s.matches('signingOut'), { timeout: 3000 }).catch(() => {});
      }
      actor.stop();
      await udp.close();
      log.debug('client.stopped', { address: formatAddress(udp.address) });
    },
  };
  return client;
}
