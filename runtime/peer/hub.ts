/**
 * The peer side of a client: one encrypted, reliable channel per peer login.
 *
 * - Keys: `PeerKeyring` (runtime/crypto/peer.ts) turns our login key pair and
 *   the peer's published key into one Sender/Receiver pair per direction.
 * - Identity: every datagram names its sender by a key id (the first 8 bytes
 *   of sha256 of the sender's peer key) in the clear header, bound as
 *   associated data. The receiver looks the id up in the roster (the
 *   server's verdict of who holds which key), opens the datagram with that
 *   peer's channel, and only then believes it. The source address is used to
 *   answer, never to decide who spoke.
 * - Addresses: everything goes to the peer's address in the current roster
 *   (the server's verdict), so a presence UPDATE moves in-flight
 *   retransmissions to the new address. Only a peer missing from our roster
 *   (ours not synced yet) is answered where its last authenticated datagram
 *   came from.
 * - A peer's new key is a new login and a new channel: the old one is closed
 *   and its outstanding messages fail.
 * - Message ids a peer already delivered are remembered (per peer, bounded),
 *   so a retry of a message whose ACK was lost is not shown twice.
 * - With `defer` (the client passes setImmediate), the ACKs of every CHAT read
 *   in one pass of the event loop are coalesced into one ACK per channel, sent
 *   before the loop waits again; without it every CHAT is answered at once.
 * - With `pack` (the client passes queueMicrotask), the frames a channel sends
 *   in one turn leave together at its end, as few datagrams as fit: a lone
 *   frame as its own CHAT/ACK, several as BUNDLEs (runtime/wire/bundle.ts).
 *   Without it every frame is its own datagram, sent at once.
 */
import { createHash } from 'node:crypto';
import { err, ok, type Result } from 'neverthrow';
import { PeerKeyring } from '../crypto/peer.ts';
import type { KeyPair } from '../crypto/keys.ts';
import type { SessionCipher } from '../crypto/session.ts';
import { KEY_ID_SIZE, PEER_HEADER_SIZE } from '../wire/constants.ts';
import { decodeBundle, packFrames, runBody, type EncodedFrame } from '../wire/bundle.ts';
import { Type } from '../wire/constants.ts';
import { decodePeerBody, encodePeerBody, peerDatagram } from '../wire/peer.ts';
import type { Address, Member, PeerBody, PeerSealed } from '../wire/types.ts';
import type { Clock } from './clock.ts';
import { DeliveryChannel, isMessageId, type DeliveryConfig, type MessageId } from './delivery.ts';
import { RecentIds } from './recent.ts';
import { decodeText, encodeText, sendError, type SendError } from './text.ts';

/** The first 8 bytes of sha256 over a peer public key. */
export function keyIdOf(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(publicKey).digest().subarray(0, KEY_ID_SIZE));
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export interface HubEvents {
  /** a whole message from `peer`, delivered once, in order */
  received(peer: string, id: MessageId, text: string): void;
  acked(peer: string, id: MessageId): void;
  /** the peer never acknowledged it, or its login ended */
  failed(peer: string, id: MessageId): void;
}

export interface HubOptions {
  clock: Clock;
  send(bytes: Uint8Array, to: Address): void;
  /** the roster as the server last published it */
  members(): ReadonlyMap<string, Member>;
  events: HubEvents;
  /** counts a dropped datagram, by reason ('peer.forged', 'peer.unknown_sender', …) */
  drop(why: string): void;
  delivery?: Partial<DeliveryConfig>;
  /** remembered delivered ids per peer */
  recentIds?: number;
  /** runs `fn` once the datagrams already waiting have been read (setImmediate); enables coalesced ACKs */
  defer?(fn: () => void): void;
  /** runs `fn` at the end of the current turn (queueMicrotask); enables bundling what a channel sends in it */
  pack?(fn: () => void): void;
}

interface Channel {
  email: string;
  peerKey: Uint8Array;
  keyHex: string;
  cipher: SessionCipher;
  engine: DeliveryChannel;
  /** where the last authenticated datagram from this peer came from (used only when it is not in the roster) */
  replyTo: Address | null;
  /** frames sent this turn, waiting for the pack flush (with `pack`) */
  out: EncodedFrame[];
}

interface Me {
  keyPair: KeyPair;
  email: string;
  keyring: PeerKeyring;
  keyId: Uint8Array;
}

export class PeerHub {
  private readonly opts: HubOptions;
  private me: Me | null = null;
  private readonly channels = new Map<string, Channel>();
  private readonly recent = new Map<string, RecentIds>();
  private readonly keyIds = new WeakMap<Uint8Array, string>();
  private readonly keyHexes = new WeakMap<Uint8Array, string>();
  /** channels owing an ACK, sent together when the deferred flush runs */
  private acksDue: Channel[] = [];
  /** channels with frames waiting for the pack flush */
  private packDue: Channel[] = [];
  private index: { members: ReadonlyMap<string, Member> | null; byKeyId: Map<string, Member[]> } = {
    members: null,
    byKeyId: new Map(),
  };

  constructor(opts: HubOptions) {
    this.opts = opts;
  }

  /** Our login: a new key pair drops every channel of the previous one. */
  start(keyPair: KeyPair, email: string): void {
    if (this.me && this.me.keyPair === keyPair && this.me.email === email) return;
    this.stop();
    this.me = { keyPair, email, keyring: new PeerKeyring(keyPair, email), keyId: keyIdOf(keyPair.publicKey) };
  }

  /** Logout: closes every channel (the conversations fail what was pending). */
  stop(): void {
    for (const ch of this.channels.values()) ch.engine.close();
    this.channels.clear();
    this.me = null;
  }

  get running(): boolean {
    return this.me !== null;
  }

  /** Our key id as peers see it in our datagrams. */
  get keyId(): Uint8Array | null {
    return this.me?.keyId ?? null;
  }

  /** Queues `text` to `peer` under message id `id`. */
  send(peer: string, id: MessageId, text: string): Result<void, SendError> {
    if (!this.me) return err(sendError('not_online'));
    if (!isMessageId(id)) return err(sendError('unknown_message'));
    const bytes = encodeText(text);
    if (bytes.isErr()) return err(bytes.error);
    const member = this.opts.members().get(peer);
    if (!member) return err(sendError('peer_offline'));
    const ch = this.channelFor(member);
    if (!ch) return err(sendError('peer_offline'));
    const queued = ch.engine.send(id, bytes.value);
    if (queued.isErr()) return err(sendError(queued.error.type === 'TooLong' ? 'too_long' : queued.error.type === 'Empty' ? 'empty' : 'peer_offline'));
    return ok(undefined);
  }

  /** Stops retransmitting a message (it failed in the conversation). */
  abandon(peer: string, id: MessageId): void {
    this.channels.get(peer)?.engine.abandon(id);
  }

  /**
   * The roster changed: a peer that now holds another key logged in again, so
   * its old channel closes and what was outstanding on it fails.
   */
  refresh(): void {
    const members = this.opts.members();
    for (const [email, ch] of this.channels) {
      const m = members.get(email);
      if (m && !Buffer.from(m.peerKey).equals(Buffer.from(ch.peerKey))) this.retire(ch);
    }
  }

  /** A peer datagram, not yet authenticated. */
  receive(d: PeerSealed, from: Address): void {
    if (!this.me) return this.opts.drop('peer.signed_out');
    const candidates = this.lookup(hexOf(d.keyId));
    if (candidates.length === 0) return this.opts.drop('peer.unknown_sender');
    let why = 'peer.forged';
    for (const member of candidates) {
      const ch = this.channelFor(member);
      if (!ch) continue;
      const opened = ch.cipher.rx.open(d.counter, d.aad, d.sealed);
      if (opened.isErr()) {
        const e = opened.error.type;
        why = e === 'DecryptFailed' ? 'peer.forged' : e === 'Replayed' ? 'peer.replayed' : e === 'TooOld' ? 'peer.too_old' : 'peer.counter';
        continue;
      }
      if (d.code !== Type.BUNDLE) {
        const body = decodePeerBody(d.code, opened.value);
        if (body.isErr()) return this.opts.drop('peer.malformed');
        ch.replyTo = from;
        ch.engine.receive(body.value);
        return;
      }
      // a bundle is taken whole or not at all
      const frames = decodeBundle(opened.value);
      if (frames.isErr()) return this.opts.drop('peer.malformed');
      const bodies: PeerBody[] = [];
      for (const f of frames.value) {
        const body = decodePeerBody(f.code, f.bytes);
        if (body.isErr()) return this.opts.drop('peer.malformed');
        bodies.push(body.value);
      }
      ch.replyTo = from;
      for (const body of bodies) ch.engine.receive(body);
      return;
    }
    this.opts.drop(why);
  }

  /** Delivery statistics of the current channel to `peer`, for tests and benches. */
  channelStats(peer: string): { stats: DeliveryChannel['stats']; rto: number; srtt: number | null } | null {
    const ch = this.channels.get(peer);
    return ch ? { stats: ch.engine.stats, rto: ch.engine.rto.rto, srtt: ch.engine.rto.srtt } : null;
  }

  // ---- internals -------------------------------------------------------------------------------

  /** hex of a roster key, computed once per key object */
  private keyHex(key: Uint8Array): string {
    let hex = this.keyHexes.get(key);
    if (hex === undefined) {
      hex = hexOf(key);
      this.keyHexes.set(key, hex);
    }
    return hex;
  }

  private keyIdHex(key: Uint8Array): string {
    let id = this.keyIds.get(key);
    if (id === undefined) {
      id = hexOf(keyIdOf(key));
      this.keyIds.set(key, id);
    }
    return id;
  }

  /** Roster members whose key has this id (normally one), indexed once per roster version. */
  private lookup(keyIdHex: string): Member[] {
    const members = this.opts.members();
    if (this.index.members !== members) {
      const byKeyId = new Map<string, Member[]>();
      for (const m of members.values()) {
        if (this.me && m.email === this.me.email) continue;
        const id = this.keyIdHex(m.peerKey);
        const list = byKeyId.get(id);
        if (list) list.push(m);
        else byKeyId.set(id, [m]);
      }
      this.index = { members, byKeyId };
    }
    return this.index.byKeyId.get(keyIdHex) ?? [];
  }

  /** The channel to this login of the peer, created on first use. */
  private channelFor(member: Member): Channel | null {
    const me = this.me;
    if (!me) return null;
    const keyHex = this.keyHex(member.peerKey);
    const known = this.channels.get(member.email);
    if (known && known.keyHex === keyHex) return known;
    const cipher = me.keyring.channel(member.email, member.peerKey);
    if (cipher.isErr()) return null;
    if (known) this.retire(known);
    const email = member.email;
    const ch: Channel = {
      email,
      peerKey: Uint8Array.from(member.peerKey),
      keyHex,
      cipher: cipher.value,
      replyTo: null,
      out: [],
      engine: null as unknown as DeliveryChannel,
    };
    ch.engine = new DeliveryChannel(
      {
        transmit: (frame) => this.transmit(ch, frame),
        deliver: (id, payload) => this.deliver(email, id, payload),
        acked: (id) => this.opts.events.acked(email, id),
        failed: (id) => this.opts.events.failed(email, id),
        ...(this.opts.defer ? { ackSoon: () => this.ackSoon(ch) } : {}),
      },
      this.opts.clock,
      this.opts.delivery,
    );
    this.channels.set(email, ch);
    return ch;
  }

  private ackSoon(ch: Channel): void {
    this.acksDue.push(ch);
    if (this.acksDue.length === 1) this.opts.defer?.(() => this.flushAcks());
  }

  private flushAcks(): void {
    const due = this.acksDue;
    this.acksDue = [];
    for (const ch of due) ch.engine.flushAck();
  }

  /** The peer's old login is gone: its outstanding messages fail. */
  private retire(ch: Channel): void {
    if (this.channels.get(ch.email) === ch) this.channels.delete(ch.email);
    for (const id of ch.engine.close()) this.opts.events.failed(ch.email, id);
  }

  private transmit(ch: Channel, frame: PeerBody): void {
    if (!this.me) return;
    const body = encodePeerBody(frame);
    if (body.isErr()) return this.opts.drop('peer.encode');
    if (!this.opts.pack) return this.seal(ch, body.value);
    ch.out.push(body.value);
    if (ch.out.length > 1) return;
    this.packDue.push(ch);
    if (this.packDue.length === 1) this.opts.pack(() => this.flushPacked());
  }

  private flushPacked(): void {
    const due = this.packDue;
    this.packDue = [];
    for (const ch of due) {
      const out = ch.out;
      ch.out = [];
      if (this.channels.get(ch.email) !== ch) continue;
      for (const run of packFrames(out)) {
        const body = runBody(run);
        if (body.isErr()) this.opts.drop('peer.encode');
        else this.seal(ch, body.value);
      }
    }
  }

  /** One datagram: `body` sealed under the channel's next counter, to the peer's current address. */
  private seal(ch: Channel, body: EncodedFrame): void {
    const me = this.me;
    if (!me) return;
    const member = this.opts.members().get(ch.email);
    const rosterAddress = member && this.keyHex(member.peerKey) === ch.keyHex ? member.address : null;
    const to = rosterAddress ?? ch.replyTo;
    if (!to) return;
    const counter = ch.cipher.tx.takeNumber();
    if (counter < 0) return this.opts.drop('peer.counter_exhausted');
    const out = peerDatagram(body.code, me.keyId, counter, body.bytes.length);
    ch.cipher.tx.sealAfter(counter, out, PEER_HEADER_SIZE, body.bytes);
    this.opts.send(out, to);
  }

  private deliver(peer: string, id: MessageId, payload: Uint8Array): void {
    const text = decodeText(payload);
    if (text === null) return this.opts.drop('peer.bad_text');
    let seen = this.recent.get(peer);
    if (!seen) {
      seen = new RecentIds(this.opts.recentIds ?? 1024);
      this.recent.set(peer, seen);
    }
    if (!seen.add(id)) return this.opts.drop('peer.duplicate_message');
    this.opts.events.received(peer, id, text);
  }
}
