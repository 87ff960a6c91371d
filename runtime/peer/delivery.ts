/**
 * Reliable, ordered delivery of chat messages over one peer channel (one pair
 * of login keys), independent of sockets and crypto: frames go out through
 * `hooks.transmit`, come in through `receive`, and time comes from an
 * injected Clock, so the whole engine runs under a simulated clock and a
 * lossy simulated network in tests.
 *
 * Sender
 * - A message (1 B – 64 KiB) is split into fragments of ≤ 1148 bytes with
 *   consecutive sequence numbers (u32, from 0, per channel).
 * - At most `window` (64) sequence numbers are in flight past the lowest one
 *   not yet acknowledged; the rest waits in a queue (flow control).
 * - Every fragment is retransmitted when its timer (the current RTO) expires;
 *   one expiry doubles the RTO (RFC 6298 backoff). RTT samples come only from
 *   fragments sent once (Karn).
 * - A fragment unacknowledged `giveUpMs` after its first transmission fails
 *   its whole message (`hooks.failed`); its sequence numbers are abandoned.
 *   Every CHAT and ACK carries the sender's `floor` (every seq below it is
 *   acknowledged or abandoned), so the receiver stops waiting for them. Until
 *   the peer's cumulative ACK reaches the floor, a *floor probe* (an ACK) is
 *   sent at once and then on the RTO, doubling, so a receiver holding later
 *   messages behind an abandoned one learns it even when nothing else is sent.
 * - A message whose fragments are all acknowledged is `hooks.acked`.
 *
 * Receiver
 * - Fragments are accepted inside a 64-wide window above the next expected
 *   sequence number, buffered out of order and consumed in order; duplicates
 *   and anything below the window are dropped (and acknowledged again, since
 *   a duplicate usually means our ACK was lost). Consumed fragments are
 *   reassembled and each message is `hooks.deliver`ed once, in order.
 * - Every CHAT is answered with an ACK: cumulative + a 64-bit selective map. The ACK goes out
 *   before the messages it completes are handed to `hooks.deliver`, so what the application does
 *   with them never delays it. With `hooks.ackSoon`, the ACKs of the CHATs read in one pass of
 *   the event loop are coalesced: the engine asks once and sends one ACK on `flushAck()`, then
 *   hands over the messages.
 */
import { err, ok, type Result } from 'neverthrow';
import { MAX_FRAGMENT, MAX_FRAGMENTS, MAX_MESSAGE_BYTES, MESSAGE_ID_SIZE } from '../wire/constants.ts';
import type { AckFrame, ChatFrame, PeerBody } from '../wire/types.ts';
import type { Clock } from './clock.ts';
import { DEFAULT_RTO, RtoEstimator, type RtoConfig } from './rto.ts';

export interface DeliveryConfig {
  /** sequence numbers in flight at most (≤ 64: the ACK bitmap covers 64) */
  window: number;
  /** a fragment unacknowledged this long after its first transmission fails its message */
  giveUpMs: number;
  /** fragment payload size */
  maxFragment: number;
  rto: RtoConfig;
}

export const DEFAULT_DELIVERY: DeliveryConfig = {
  window: 64,
  giveUpMs: 10_000,
  maxFragment: MAX_FRAGMENT,
  rto: DEFAULT_RTO,
};

/** Message ids are 8 bytes, written as 16 lower-case hex digits. */
export type MessageId = string;
const ID_PATTERN = /^[0-9a-f]{16}$/;
export const isMessageId = (s: string): boolean => ID_PATTERN.test(s);

export interface DeliveryHooks {
  transmit(frame: PeerBody): void;
  deliver(messageId: MessageId, payload: Uint8Array): void;
  acked(messageId: MessageId): void;
  failed(messageId: MessageId): void;
  /**
   * Optional: an ACK is due; call `flushAck()` soon (before the event loop waits again), which
   * sends it and then hands over the messages it completes. Without it every CHAT is answered at
   * once.
   */
  ackSoon?(): void;
}

export type EnqueueError =
  | { type: 'Empty' }
  | { type: 'TooLong'; max: number }
  | { type: 'BadId' }
  | { type: 'Closed' };

/** The last sequence number a channel uses; past it the channel refuses messages (4 × 10⁹ datagrams). */
const LAST_SEQ = 0xfffffffe;

interface OutMessage {
  id: MessageId;
  idBytes: Uint8Array;
  payload: Uint8Array;
  count: number;
  /** next fragment to put in flight */
  next: number;
  /** fragments not yet acknowledged */
  unacked: number;
  dead: boolean;
}

interface InFlight {
  seq: number;
  msg: OutMessage;
  index: number;
  payload: Uint8Array;
  firstSent: number;
  lastSent: number;
  /** transmissions so far */
  tx: number;
  deadline: number;
}

interface Assembly {
  id: MessageId;
  count: number;
  parts: Uint8Array[];
  size: number;
}

export interface DeliveryStats {
  /** fragments sent for the first time */
  sent: number;
  retransmits: number;
  /** retransmission timer expiries (each one backs off) */
  timeouts: number;
  acksSent: number;
  acksReceived: number;
  /** ACKs naming sequence numbers never sent */
  acksBogus: number;
  messagesAcked: number;
  messagesFailed: number;
  delivered: number;
  duplicates: number;
  outOfWindow: number;
  /** sequence numbers skipped because the sender abandoned them */
  skipped: number;
  /** fragments that did not fit the message being reassembled */
  malformed: number;
  /** ACKs sent to tell the peer our floor moved past abandoned messages */
  floorProbes: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class DeliveryChannel {
  readonly config: DeliveryConfig;
  readonly rto: RtoEstimator;
  readonly stats: DeliveryStats = {
    sent: 0,
    retransmits: 0,
    timeouts: 0,
    acksSent: 0,
    acksReceived: 0,
    acksBogus: 0,
    messagesAcked: 0,
    messagesFailed: 0,
    delivered: 0,
    duplicates: 0,
    outOfWindow: 0,
    skipped: 0,
    malformed: 0,
    floorProbes: 0,
  };
  private readonly hooks: DeliveryHooks;
  private readonly clock: Clock;
  private closed = false;

  // sender
  private nextSeq = 0;
  private readonly inflight = new Map<number, InFlight>();
  private readonly messages = new Map<MessageId, OutMessage>();
  private queue: OutMessage[] = [];
  private head = 0;
  private timer: unknown = null;
  private timerAt = Infinity;
  /** the highest cumulative ACK the peer sent */
  private peerCum = 0;
  /** while the peer has not acknowledged up to our floor: when to tell it again, and the interval */
  private probe: { at: number; interval: number } | null = null;

  // receiver
  private rcvNext = 0;
  private readonly buffer = new Map<number, ChatFrame>();
  private assembly: Assembly | null = null;
  /** whole messages consumed, handed to `hooks.deliver` once the ACK is out */
  private ready: Array<{ id: MessageId; payload: Uint8Array }> = [];
  private ackDue = false;

  constructor(hooks: DeliveryHooks, clock: Clock, config: Partial<DeliveryConfig> = {}) {
    this.hooks = hooks;
    this.clock = clock;
    this.config = { ...DEFAULT_DELIVERY, ...config };
    if (this.config.window < 1 || this.config.window > 64) throw new RangeError('window must be 1..64');
    this.rto = new RtoEstimator(this.config.rto);
  }

  /** Messages not yet acknowledged (queued or in flight). */
  get outstanding(): number {
    return this.messages.size;
  }

  /** Sequence numbers in flight. */
  get inFlight(): number {
    return this.inflight.size;
  }

  /** Queues a message. Its fragments go out as the window allows. */
  send(id: MessageId, payload: Uint8Array): Result<void, EnqueueError> {
    if (this.closed) return err({ type: 'Closed' });
    if (!isMessageId(id)) return err({ type: 'BadId' });
    if (payload.length === 0) return err({ type: 'Empty' });
    if (payload.length > MAX_MESSAGE_BYTES) return err({ type: 'TooLong', max: MAX_MESSAGE_BYTES });
    const count = Math.ceil(payload.length / this.config.maxFragment);
    if (count > MAX_FRAGMENTS) return err({ type: 'TooLong', max: MAX_MESSAGE_BYTES });
    if (this.nextSeq + count > LAST_SEQ) return err({ type: 'Closed' });
    // A retry of a message still here replaces it.
    if (this.messages.has(id)) this.abandon(id);
    const msg: OutMessage = {
      id,
      idBytes: Buffer.from(id, 'hex'),
      payload,
      count,
      next: 0,
      unacked: count,
      dead: false,
    };
    this.messages.set(id, msg);
    this.queue.push(msg);
    this.fill();
    this.arm();
    return ok(undefined);
  }

  /** Stops sending a message (the user or the conversation gave up on it). No hook is called. */
  abandon(id: MessageId): boolean {
    const msg = this.messages.get(id);
    if (!msg) return false;
    this.drop(msg);
    this.fill();
    this.checkFloor();
    this.arm();
    return true;
  }

  /** A decrypted, decoded frame from the peer. */
  receive(frame: PeerBody): void {
    if (this.closed) return;
    if (frame.type === 'CHAT') this.onChat(frame);
    else this.onAck(frame);
  }

  /** Stops the timer; returns the ids of the messages that were still outstanding (no hook is called). */
  close(): MessageId[] {
    if (this.closed) return [];
    this.closed = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    const left = [...this.messages.keys()];
    for (const m of this.messages.values()) m.dead = true;
    this.messages.clear();
    this.inflight.clear();
    this.queue = [];
    this.head = 0;
    this.buffer.clear();
    this.assembly = null;
    this.ready = [];
    this.ackDue = false;
    this.probe = null;
    return left;
  }

  // ---- sender ---------------------------------------------------------------------------------

  /** Every seq below this is acknowledged or abandoned. */
  private floor(): number {
    for (const seq of this.inflight.keys()) return seq;
    return this.nextSeq;
  }

  private fill(): void {
    const now = this.clock.now();
    for (;;) {
      while (this.head < this.queue.length && this.queue[this.head]!.dead) this.head++;
      const msg = this.queue[this.head];
      if (!msg) break;
      if (this.nextSeq >= this.floor() + this.config.window) break;
      const index = msg.next++;
      const size = this.config.maxFragment;
      const f: InFlight = {
        seq: this.nextSeq++,
        msg,
        index,
        payload: msg.payload.subarray(index * size, Math.min(msg.payload.length, (index + 1) * size)),
        firstSent: now,
        lastSent: now,
        tx: 1,
        deadline: now + this.rto.rto,
      };
      this.inflight.set(f.seq, f);
      if (msg.next === msg.count) this.head++;
      this.stats.sent++;
      this.emit(f);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private emit(f: InFlight): void {
    this.hooks.transmit({
      type: 'CHAT',
      seq: f.seq,
      floor: this.floor(),
      messageId: f.msg.idBytes,
      index: f.index,
      count: f.msg.count,
      payload: f.payload,
    });
  }

  /** Forgets a message: its fragments leave the flight and the queue. */
  private drop(msg: OutMessage): void {
    msg.dead = true;
    this.messages.delete(msg.id);
    for (const [seq, f] of this.inflight) if (f.msg === msg) this.inflight.delete(seq);
    // A message cut off mid-way leaves the queue's head: the next message starts a new run of seqs.
    const current = this.queue[this.head];
    if (current === msg) this.head++;
  }

  private onAck(a: AckFrame): void {
    this.stats.acksReceived++;
    // the peer's own floor, for what it sends us
    if (a.floor > this.rcvNext) {
      this.skipTo(a.floor);
      this.sendAck();
      this.handOver();
    }
    if (a.cum > this.nextSeq) {
      this.stats.acksBogus++;
      return;
    }
    if (a.cum > this.peerCum) this.peerCum = a.cum;
    const now = this.clock.now();
    let sample: InFlight | null = null;
    const lo = a.sack === 0n ? 0 : Number(a.sack & 0xffffffffn);
    const hi = a.sack === 0n ? 0 : Number(a.sack >> 32n);
    for (const [seq, f] of this.inflight) {
      const d = seq - a.cum - 1;
      const acked = seq < a.cum || (d >= 0 && d < 64 && ((d < 32 ? lo >>> d : hi >>> (d - 32)) & 1) === 1);
      if (!acked) continue;
      this.inflight.delete(seq);
      if (f.tx === 1 && (sample === null || f.lastSent > sample.lastSent)) sample = f;
      const msg = f.msg;
      msg.unacked--;
      if (msg.unacked === 0 && !msg.dead) {
        msg.dead = true;
        this.messages.delete(msg.id);
        this.stats.messagesAcked++;
        this.hooks.acked(msg.id);
      }
    }
    if (sample !== null) this.rto.sample(now - sample.lastSent);
    this.fill();
    if (this.probe !== null && this.peerCum >= this.floor()) this.probe = null;
    this.arm();
  }

  /** Our floor moved past abandoned seqs the peer has not acknowledged: tell it now, and until it does. */
  private checkFloor(): void {
    if (this.peerCum >= this.floor()) {
      this.probe = null;
      return;
    }
    if (this.probe !== null) return;
    this.stats.floorProbes++;
    this.sendAck();
    this.probe = { at: this.clock.now() + this.rto.rto, interval: this.rto.rto };
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = Infinity;
    if (this.closed) return;
    const now = this.clock.now();
    const expiredMessages = new Set<OutMessage>();
    for (const f of this.inflight.values()) if (now - f.firstSent >= this.config.giveUpMs) expiredMessages.add(f.msg);
    for (const msg of expiredMessages) {
      this.drop(msg);
      this.stats.messagesFailed++;
      this.hooks.failed(msg.id);
    }
    if (expiredMessages.size > 0) this.checkFloor();
    if (this.probe !== null && this.probe.at <= now) {
      if (this.peerCum >= this.floor()) this.probe = null;
      else {
        this.stats.floorProbes++;
        this.sendAck();
        const interval = Math.min(this.rto.config.maxMs, this.probe.interval * 2);
        this.probe = { at: now + interval, interval };
      }
    }
    const due = [...this.inflight.values()].filter((f) => f.deadline <= now);
    if (due.length > 0) {
      this.rto.timedOut();
      this.stats.timeouts++;
      for (const f of due) {
        f.tx++;
        f.lastSent = now;
        f.deadline = now + this.rto.rto;
        this.stats.retransmits++;
        this.emit(f);
      }
    }
    this.fill();
    this.arm();
  }

  /** One timer, at the earliest retransmission or give-up time. */
  private arm(): void {
    if (this.closed) return;
    let at = this.probe?.at ?? Infinity;
    for (const f of this.inflight.values()) at = Math.min(at, f.deadline, f.firstSent + this.config.giveUpMs);
    if (at === this.timerAt) return;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = this.clock.setTimeout(() => this.onTimer(), Math.max(0, at - this.clock.now()));
  }

  // ---- receiver -------------------------------------------------------------------------------

  private onChat(f: ChatFrame): void {
    if (f.messageId.length !== MESSAGE_ID_SIZE) {
      this.stats.malformed++;
      return;
    }
    if (f.floor > this.rcvNext) this.skipTo(f.floor);
    const window = this.config.window;
    if (f.seq < this.rcvNext || this.buffer.has(f.seq)) this.stats.duplicates++;
    else if (f.seq >= this.rcvNext + window) this.stats.outOfWindow++;
    else {
      this.buffer.set(f.seq, f);
      this.drain();
    }
    if (this.hooks.ackSoon) {
      // the ACK and then the messages it completes, on flushAck()
      if (!this.ackDue) {
        this.ackDue = true;
        this.hooks.ackSoon();
      }
      return;
    }
    this.sendAck();
    this.handOver();
  }

  /** Sends the ACK `hooks.ackSoon` asked for, if it is still due, then hands over the messages it completes. */
  flushAck(): void {
    if (this.closed) return;
    if (this.ackDue) this.sendAck();
    this.handOver();
  }

  /** Hands the messages consumed so far to the application, in order. */
  private handOver(): void {
    if (this.ready.length === 0) return;
    const ready = this.ready;
    this.ready = [];
    for (const m of ready) {
      if (this.closed) return;
      this.hooks.deliver(m.id, m.payload);
    }
  }

  /** The sender will never send anything below `floor` again: stop waiting for it. */
  private skipTo(floor: number): void {
    const limit = Math.min(floor, this.rcvNext + this.config.window);
    while (this.rcvNext < limit) {
      const f = this.buffer.get(this.rcvNext);
      if (f) this.consume(f);
      else {
        this.assembly = null;
        this.rcvNext++;
        this.stats.skipped++;
      }
    }
    if (floor > this.rcvNext) {
      this.assembly = null;
      this.stats.skipped += floor - this.rcvNext;
      this.rcvNext = floor;
    }
    this.drain();
  }

  private drain(): void {
    for (let f = this.buffer.get(this.rcvNext); f; f = this.buffer.get(this.rcvNext)) this.consume(f);
  }

  private consume(f: ChatFrame): void {
    this.buffer.delete(f.seq);
    this.rcvNext++;
    const id = hex(f.messageId);
    if (f.index === 0) {
      if (this.assembly !== null) this.stats.malformed++;
      this.assembly = { id, count: f.count, parts: [], size: 0 };
    }
    const a = this.assembly;
    if (a === null || a.id !== id || a.count !== f.count || a.parts.length !== f.index) {
      this.assembly = null;
      this.stats.malformed++;
      return;
    }
    a.parts.push(f.payload);
    a.size += f.payload.length;
    if (a.size > MAX_MESSAGE_BYTES) {
      this.assembly = null;
      this.stats.malformed++;
      return;
    }
    if (a.parts.length < a.count) return;
    this.assembly = null;
    this.stats.delivered++;
    this.ready.push({ id: a.id, payload: a.parts.length === 1 ? a.parts[0]! : Buffer.concat(a.parts) });
  }

  private sendAck(): void {
    this.ackDue = false;
    let sack = 0n;
    for (const seq of this.buffer.keys()) {
      const d = seq - this.rcvNext - 1;
      if (d >= 0 && d < 64) sack |= 1n << BigInt(d);
    }
    this.stats.acksSent++;
    this.hooks.transmit({ type: 'ACK', cum: this.rcvNext, sack, floor: this.floor() });
  }
}
