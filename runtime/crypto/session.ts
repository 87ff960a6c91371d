/**
 * Session traffic protection: one directional key each way, a send counter
 * that starts at 1 (0 was spent on AUTH / AUTH_RESULT) and a receive replay
 * window. Used for client ↔ server sessions and, with keys from peer.ts, for
 * peer ↔ peer channels.
 *
 * A datagram is one buffer: the clear header written around the counter from
 * `Sender.takeNumber()`, then the body sealed in place after it, with the
 * header as associated data:
 *
 *     const c = tx.takeNumber();      // -1 once the counters are exhausted
 *     const out = sessionDatagram(type, sid, c, body.length);
 *     tx.sealAfter(c, out, SESSION_HEADER_SIZE, body);
 *
 * (`take()` / `seal()` give the same bytes as a separate header and sealed part.)
 *
 * A retransmission must be sealed again under a new counter (the receiver
 * drops an exact copy as a replay), with any message sequence number inside
 * the body.
 */
import { err, ok } from 'neverthrow';
import type { Result } from 'neverthrow';
import { KEY_SIZE } from '../wire/constants.ts';
import type { CounterExhausted, CounterOutOfRange, DecryptFailed, Replayed, TooOld } from './errors.ts';
import * as fast from './sodium.ts';
import { MAX_COUNTER, ReplayWindow } from './replay.ts';
import type { Split } from './noise.ts';

/** One side's view: `send` seals what it sends, `recv` opens what it receives. */
export interface SessionKeys {
  readonly send: Uint8Array;
  readonly recv: Uint8Array;
}

/**
 * Forgery attempts one key should absorb before the session is dropped and
 * re-established (the integrity limit QUIC sets for ChaCha20-Poly1305).
 */
export const INTEGRITY_LIMIT = 2 ** 36;

/** Counter 0 of each direction is reserved for AUTH (c → s) and AUTH_RESULT (s → c). */
export const HANDSHAKE_COUNTER = 0;

export const clientKeys = (split: Split): SessionKeys => ({ send: split.cs, recv: split.sc });
export const serverKeys = (split: Split): SessionKeys => ({ send: split.sc, recv: split.cs });

/**
 * The key, copied (or, when `owned`, the caller's private copy kept as is). Not `Buffer.from`:
 * that copies into Node's shared 8 KB allocation pool, and a long-lived 32-byte slice keeps its
 * whole slab alive; a server holding thousands of sessions kept ~2 KB per session that way.
 */
function checkKey(key: Uint8Array, owned = false): Uint8Array {
  if (key.length !== KEY_SIZE) throw new RangeError(`session key must be ${KEY_SIZE} bytes`);
  return owned ? key : Uint8Array.from(key);
}

export class Sender {
  private readonly key: Uint8Array;
  private next = 1;

  /** `owned`: `key` is a private copy nobody else holds (createSession's), kept without copying */
  constructor(key: Uint8Array, owned = false) {
    this.key = checkKey(key, owned);
  }

  /** How many counters have been used, including the reserved 0. */
  get used(): number {
    return this.next;
  }

  /** Reserves the next counter. */
  take(): Result<bigint, CounterExhausted> {
    const n = this.takeNumber();
    return n < 0 ? err({ type: 'CounterExhausted' }) : ok(BigInt(n));
  }

  /** Seals `body` under a counter obtained from `take()`; returns ciphertext | tag. */
  seal(counter: bigint, aad: Uint8Array, body: Uint8Array): Uint8Array {
    return fast.seal(this.key, Number(counter), aad, body);
  }

  /** Reserves the next counter as a number; -1 once they are exhausted (a hot path's `take`). */
  takeNumber(): number {
    return this.next > MAX_COUNTER ? -1 : this.next++;
  }

  /**
   * Seals `body` under `counter` (from `takeNumber()`) into `out` after its header, which is the
   * associated data: `out` = header (`headerLength` bytes, written) ‖ room for body and tag.
   */
  sealAfter(counter: number, out: Uint8Array, headerLength: number, body: Uint8Array): void {
    fast.sealAfter(this.key, counter, out, headerLength, body);
  }
}

export type OpenError = Replayed | TooOld | CounterOutOfRange | DecryptFailed;

const MAX_COUNTER_BIG = BigInt(MAX_COUNTER);

export class Receiver {
  private readonly key: Uint8Array;
  private readonly window = new ReplayWindow();
  private failed = 0;

  /** `owned`: as for Sender */
  constructor(key: Uint8Array, owned = false) {
    this.key = checkKey(key, owned);
  }

  /** The highest counter accepted so far. */
  get highest(): number {
    return this.window.highest;
  }

  /** Datagrams that failed to authenticate; past INTEGRITY_LIMIT the runtime should end the session. */
  get forgeries(): number {
    return this.failed;
  }

  /** Checks the window, authenticates, and only then marks the counter. */
  open(counter: bigint, aad: Uint8Array, sealed: Uint8Array): Result<Uint8Array, OpenError> {
    if (counter < 0n || counter > MAX_COUNTER_BIG) return err({ type: 'CounterOutOfRange' });
    const n = Number(counter);
    const verdict = this.window.check(n);
    if (verdict !== 'ok') return err(verdict);
    const opened = fast.open(this.key, n, aad, sealed);
    if (opened === null) {
      this.failed++;
      return err({ type: 'DecryptFailed' });
    }
    this.window.mark(n);
    return ok(opened);
  }
}

export interface SessionCipher {
  readonly tx: Sender;
  readonly rx: Receiver;
}

/** Both directions of a session. Throws only on a key of the wrong length (a programming error). */
export function createSession(keys: SessionKeys): SessionCipher {
  if (keys.send.length !== KEY_SIZE || keys.recv.length !== KEY_SIZE) throw new RangeError(`session key must be ${KEY_SIZE} bytes`);
  // both keys in one allocation of their own (a server keeps one per online user)
  const both = new Uint8Array(2 * KEY_SIZE);
  both.set(keys.send, 0);
  both.set(keys.recv, KEY_SIZE);
  return { tx: new Sender(both.subarray(0, KEY_SIZE), true), rx: new Receiver(both.subarray(KEY_SIZE), true) };
}
