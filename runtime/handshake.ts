/**
 * The client side of the handshake (PROTOCOL.md §3): HELLO → WELCOME → AUTH →
 * AUTH_RESULT over one UDP socket, with retransmission, plus the KEY_REQ used
 * to learn a server's key on first contact. The socket's dispatcher hands
 * every WELCOME / AUTH_RESULT / KEY datagram to `deliver`.
 */
import { err, ok, type Result } from 'neverthrow';
// the AUTH and its answer through libsodium when it loads (node:crypto builds a cipher per call)
import * as sodium from './crypto/sodium.ts';
import { complete, initiate, type InitiatorState, type Split } from './crypto/noise.ts';
import { HANDSHAKE_COUNTER } from './crypto/session.ts';
import { encodeAuthRequest } from './wire/auth-request.ts';
import { decodeAuthResultBody } from './wire/auth-result-body.ts';
import { encodeKeyReq } from './wire/key.ts';
import { AUTH_RESULT_AAD, authAad, encodeAuth, encodeHello } from './wire/outer.ts';
import type { Address, AuthRequest, AuthResult, Outer } from './wire/types.ts';
import type { Udp } from './udp.ts';

export interface Unreachable { type: 'Unreachable' }
export interface Aborted { type: 'Aborted' }
export interface Internal { type: 'Internal'; message: string }
export type HandshakeError = Unreachable | Aborted | Internal;

export interface Timing {
  /** first retransmission timeout (default 250 ms), doubled up to maxRtoMs; each wait is jittered ±25 % */
  rtoMs: number;
  maxRtoMs: number;
  /** overall deadline (default 8 s) */
  deadlineMs: number;
  /**
   * once a WELCOME came, the AUTH gets at least this long for its answer, even past the deadline
   * (default 5 s, the server's own patience with an AUTH): the server has done the costly part
   * of the handshake, and giving up on it now would only make it do that again for a new one
   */
  authMs?: number;
  /**
   * the AUTH of a sign-up or a password login is retransmitted at most this long apart (default
   * 500 ms). The server hashes the password for up to seconds, ignores copies meanwhile, and
   * answers once; later copies are answered from its table at no cost. With copies 2 s apart, a
   * lost answer left one or two more before the deadline: at 10 % loss both ways, by our estimate
   * about one such login in a few hundred ended "server unreachable" with its session open.
   */
  passwordRtoMs?: number;
}
export const DEFAULT_TIMING: Timing = { rtoMs: 250, maxRtoMs: 2000, deadlineMs: 8000, authMs: 5000, passwordRtoMs: 500 };

type Waiter = (m: Outer) => boolean;

/**
 * A timeout drawn uniformly from ±25 % around `ms`: clients that lost their server at the same
 * moment (a restart) and were refused together (HELLO admission) do not retransmit in lockstep.
 */
export const jitter = (ms: number): number => ms * (0.75 + Math.random() / 2);

/** Routes handshake answers to whoever waits for them. */
export class HandshakeDesk {
  private waiters = new Set<Waiter>();
  /**
   * The last exchange got no answer from the server before its deadline. The next one then
   * retransmits at maxRtoMs from the start instead of 250 ms: thousands of clients waiting for a
   * restarted server would otherwise each send it 4 HELLOs in their first second of every
   * attempt, and bury the server (its socket buffer overflowing, AUTHs lost among the HELLOs).
   * Any answer from the server resets it.
   */
  private unheard = false;

  constructor(private readonly udp: Udp, private readonly server: Address, private readonly timing: Timing = DEFAULT_TIMING) {}

  /** Offer a decoded datagram; true if a waiter took it. */
  deliver(m: Outer): boolean {
    for (const w of this.waiters) if (w(m)) return true;
    return false;
  }

  /**
   * Sends `make()` until `accept` returns a value for some answer, with
   * exponential backoff, until the deadline or the signal.
   */
  private exchange<T>(
    make: () => Uint8Array,
    accept: (m: Outer) => T | null,
    signal?: AbortSignal,
    deadline = Date.now() + this.timing.deadlineMs,
    firstRto = this.unheard ? this.timing.maxRtoMs : this.timing.rtoMs,
    maxRto = this.timing.maxRtoMs,
  ): Promise<Result<T, HandshakeError>> {
    return new Promise((resolve) => {
      let rto = firstRto;
      let timer: NodeJS.Timeout | null = null;
      const finish = (r: Result<T, HandshakeError>) => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const waiter: Waiter = (m) => {
        const v = accept(m);
        if (v === null) return false;
        this.unheard = false;
        finish(ok(v));
        return true;
      };
      const onAbort = () => finish(err({ type: 'Aborted' }));
      const send = () => {
        if (Date.now() >= deadline) {
          this.unheard = true;
          return finish(err({ type: 'Unreachable' }));
        }
        this.udp.send(make(), this.server);
        timer = setTimeout(send, Math.min(jitter(rto), Math.max(1, deadline - Date.now())));
        rto = Math.min(rto * 2, maxRto);
      };
      if (signal?.aborted) return resolve(err({ type: 'Aborted' }));
      signal?.addEventListener('abort', onAbort);
      this.waiters.add(waiter);
      send();
    });
  }

  /** Asks the server for its static key (trust on first use). */
  fetchKey(signal?: AbortSignal): Promise<Result<Uint8Array, HandshakeError>> {
    const req = encodeKeyReq();
    return this.exchange(() => req, (m) => (m.type === 'KEY' ? m.key : null), signal);
  }

  /**
   * Runs the whole handshake against `serverKey` and returns the server's
   * answer with the split keys (the session's keys when the answer is a session).
   */
  async authenticate(serverKey: Uint8Array, request: AuthRequest, signal?: AbortSignal): Promise<Result<{ result: AuthResult; split: Split }, HandshakeError>> {
    const deadline = Date.now() + this.timing.deadlineMs;
    // Message 1 is sent again unchanged on every retransmission; `complete` does not consume the
    // state, so a forged or late WELCOME cannot spoil the genuine one that follows.
    const first = initiate(serverKey);
    if (first.isErr()) return err({ type: 'Internal', message: 'the pinned server key is not a valid X25519 key' });
    const state: InitiatorState = first.value.state;
    const hello = encodeHello(first.value.message);
    if (hello.isErr()) return err({ type: 'Internal', message: `HELLO does not encode: ${hello.error.reason}` });
    const helloAt = Date.now();
    const welcome = await this.exchange(
      () => hello.value,
      (m) => {
        if (m.type !== 'WELCOME') return null;
        const done = complete(state, m.noise);
        return done.isOk() ? done.value : null;
      },
      signal,
      deadline,
    );
    if (welcome.isErr()) return err(welcome.error);
    const { split, payload: token } = welcome.value;

    const body = encodeAuthRequest(request);
    if (body.isErr()) return err({ type: 'Internal', message: `request does not encode: ${body.error.reason}` });
    const sealed = sodium.seal(split.cs, HANDSHAKE_COUNTER, authAad(token), body.value);
    const auth = encodeAuth(token, sealed);
    if (auth.isErr()) return err({ type: 'Internal', message: `AUTH does not encode: ${auth.error.reason}` });
    // a resume is answered at once; a password AUTH waits for its hash (Timing.passwordRtoMs)
    const maxRto = request.kind === 'resume' ? this.timing.maxRtoMs : Math.min(this.timing.maxRtoMs, this.timing.passwordRtoMs ?? this.timing.maxRtoMs);
    const answer = await this.exchange(
      () => auth.value,
      (m) => {
        if (m.type !== 'AUTH_RESULT') return null;
        const plain = sodium.open(split.sc, HANDSHAKE_COUNTER, AUTH_RESULT_AAD, m.sealed);
        if (plain === null) return null;
        const result = decodeAuthResultBody(plain);
        return result.isOk() ? result.value : null;
      },
      signal,
      Math.max(deadline, Date.now() + (this.timing.authMs ?? 0)),
      // the AUTH's first wait is at least what the WELCOME took from the first HELLO: a server
      // that queues its datagrams for a second (a restart storm) is not sent a copy every 250 ms
      Math.min(maxRto, Math.max(this.timing.rtoMs, Date.now() - helloAt)),
      maxRto,
    );
    if (answer.isErr()) return err(answer.error);
    return ok({ result: answer.value, split });
  }
}
