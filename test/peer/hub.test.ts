import { describe, expect, it } from 'vitest';
import { generateKeyPair, type KeyPair } from '../../runtime/crypto/keys.ts';
import { derivePeerKeys } from '../../runtime/crypto/peer.ts';
import { createSession } from '../../runtime/crypto/session.ts';
import { keyIdOf, PeerHub } from '../../runtime/peer/hub.ts';
import { encodeText, MAX_MESSAGE_BYTES, newMessageId } from '../../runtime/peer/text.ts';
import { Type } from '../../runtime/wire/constants.ts';
import { encodeAck } from '../../runtime/wire/ack.ts';
import { decodeBundle, encodeBundle } from '../../runtime/wire/bundle.ts';
import { encodeChat } from '../../runtime/wire/chat.ts';
import { decodeOuter } from '../../runtime/wire/outer.ts';
import { encodePeerHeader } from '../../runtime/wire/peer.ts';
import type { Address, Member } from '../../runtime/wire/types.ts';
import { SimClock } from './sim.ts';

const addr = (port: number): Address => ({ family: 4, host: '127.0.0.1', port });

interface Node {
  email: string;
  keys: KeyPair;
  address: Address;
  hub: PeerHub;
  roster: Map<string, Member>;
  received: Array<{ peer: string; id: string; text: string }>;
  acked: Array<{ peer: string; id: string }>;
  failed: Array<{ peer: string; id: string }>;
  dropped: Record<string, number>;
}

/**
 * Hubs on a simulated network: datagrams take 1 ms; `blackhole` swallows what goes to a port.
 * With `pack`, each hub bundles what a channel sends in one turn (its flush runs as a 0 ms timer).
 */
function network(opts: { pack?: boolean } = {}) {
  const clock = new SimClock();
  const byPort = new Map<number, Node>();
  const blackhole = new Set<number>();
  const wire: Array<{ from: number; to: number; bytes: Uint8Array }> = [];
  function node(email: string, port: number): Node {
    const n: Node = {
      email,
      keys: generateKeyPair(),
      address: addr(port),
      hub: null as unknown as PeerHub,
      roster: new Map(),
      received: [],
      acked: [],
      failed: [],
      dropped: {},
    };
    n.hub = new PeerHub({
      clock,
      send: (bytes, to) => {
        wire.push({ from: n.address.port, to: to.port, bytes: Uint8Array.from(bytes) });
        if (blackhole.has(to.port)) return;
        const copy = Uint8Array.from(bytes);
        const from = n.address;
        clock.setTimeout(() => deliver(copy, from, to), 1);
      },
      members: () => n.roster,
      ...(opts.pack ? { pack: (fn: () => void) => void clock.setTimeout(fn, 0) } : {}),
      drop: (why) => (n.dropped[why] = (n.dropped[why] ?? 0) + 1),
      events: {
        received: (peer, id, text) => n.received.push({ peer, id, text }),
        acked: (peer, id) => n.acked.push({ peer, id }),
        failed: (peer, id) => n.failed.push({ peer, id }),
      },
    });
    n.hub.start(n.keys, email);
    byPort.set(port, n);
    return n;
  }
  function deliver(bytes: Uint8Array, from: Address, to: Address): void {
    const n = byPort.get(to.port);
    if (!n) return;
    const d = decodeOuter(bytes);
    if (d.isErr() || d.value.type !== 'PEER') throw new Error('not a peer datagram');
    n.hub.receive(d.value, from);
  }
  /** Everyone sees everyone (what the server's roster would say). */
  function publish(...nodes: Node[]): void {
    for (const n of nodes) {
      n.roster = new Map(nodes.map((m) => [m.email, { email: m.email, address: m.address, peerKey: m.keys.publicKey }]));
      n.hub.refresh();
    }
  }
  return { clock, node, publish, blackhole, wire, deliver, byPort };
}

describe('peer hub: encrypted channels between logins', () => {
  it('delivers in both directions; no datagram carries the text', () => {
    const net = network();
    const a = net.node('ana@x.org', 1001);
    const b = net.node('bia@x.org', 1002);
    net.publish(a, b);
    const secret = 'the launch code is 0451';
    const id1 = newMessageId();
    expect(a.hub.send('bia@x.org', id1, secret).isOk()).toBe(true);
    const id2 = newMessageId();
    expect(b.hub.send('ana@x.org', id2, 'ok, 0451 noted').isOk()).toBe(true);
    net.clock.runUntil(() => a.acked.length === 1 && b.acked.length === 1, 1_000);
    expect(b.received).toEqual([{ peer: 'ana@x.org', id: id1, text: secret }]);
    expect(a.received).toEqual([{ peer: 'bia@x.org', id: id2, text: 'ok, 0451 noted' }]);
    expect(net.wire.length).toBeGreaterThanOrEqual(4);
    for (const d of net.wire) {
      expect(Buffer.from(d.bytes).includes(Buffer.from('0451'))).toBe(false);
      expect(d.bytes.length).toBeLessThanOrEqual(1200);
      // the clear header names the sender by its key id, nothing else
      const sender = net.byPort.get(d.from)!;
      expect(Buffer.from(d.bytes.subarray(2, 10)).equals(Buffer.from(keyIdOf(sender.keys.publicKey)))).toBe(true);
    }
  });

  it('drops and counts a datagram that claims another sender, or names no known key, or is replayed', () => {
    const net = network();
    const a = net.node('ana@x.org', 1001);
    const b = net.node('bia@x.org', 1002);
    const c = net.node('caio@x.org', 1003);
    net.publish(a, b, c);
    // C seals a message for A with keys C made up, under B's key id
    const mallory = generateKeyPair();
    const keys = derivePeerKeys({ keyPair: mallory, email: 'bia@x.org' }, { publicKey: a.keys.publicKey, email: 'ana@x.org' })._unsafeUnwrap();
    const forger = createSession(keys);
    const body = encodeChat({
      type: 'CHAT',
      seq: 0,
      floor: 0,
      messageId: new Uint8Array(8).fill(1),
      index: 0,
      count: 1,
      payload: Buffer.from('pay me, signed bia'),
    })._unsafeUnwrap();
    const counter = forger.tx.take()._unsafeUnwrap();
    const header = encodePeerHeader(Type.CHAT, keyIdOf(b.keys.publicKey), counter);
    const forged = Buffer.concat([header, forger.tx.seal(counter, header, body)]);
    net.deliver(forged, c.address, a.address);
    expect(a.dropped['peer.forged']).toBe(1);
    // a key id nobody in the roster has
    const stranger = Buffer.from(forged);
    stranger.fill(0xee, 2, 10);
    net.deliver(stranger, c.address, a.address);
    expect(a.dropped['peer.unknown_sender']).toBe(1);
    // a genuine datagram from B, replayed by C from C's address
    const id = newMessageId();
    b.hub.send('ana@x.org', id, 'real one');
    const genuine = net.wire.find((w) => w.from === 1002 && w.bytes[1] === Type.CHAT)!.bytes;
    net.clock.runUntil(() => b.acked.length === 1, 1_000);
    net.deliver(genuine, c.address, a.address);
    expect(a.dropped['peer.replayed']).toBe(1);
    expect(a.received).toEqual([{ peer: 'bia@x.org', id, text: 'real one' }]);
  });

  it('with pack, what a channel sends in one turn leaves as few datagrams as fit, and arrives whole and in order', () => {
    const net = network({ pack: true });
    const a = net.node('ana@x.org', 1001);
    const b = net.node('bia@x.org', 1002);
    net.publish(a, b);
    const ids = Array.from({ length: 12 }, () => newMessageId());
    ids.forEach((id, i) => expect(a.hub.send('bia@x.org', id, `short message ${i}`).isOk()).toBe(true));
    // nothing leaves before the turn ends
    expect(net.wire).toEqual([]);
    const long = newMessageId();
    a.hub.send('bia@x.org', long, 'L'.repeat(3000));
    net.clock.runUntil(() => a.acked.length === 13, 2_000);
    expect(b.received.map((r) => r.id)).toEqual([...ids, long]);
    expect(b.received.at(-1)!.text).toBe('L'.repeat(3000));
    const fromA = net.wire.filter((w) => w.from === 1001);
    // the 12 short ones (39 bytes each in a bundle) in one BUNDLE; the long one's fragments (two
    // full ones, then 704 bytes that do not fit beside the bundle) as three CHATs
    expect(fromA.map((w) => w.bytes[1])).toEqual([Type.BUNDLE, Type.CHAT, Type.CHAT, Type.CHAT]);
    for (const w of net.wire) expect(w.bytes.length).toBeLessThanOrEqual(1200);
    expect(a.dropped).toEqual({});
    expect(b.dropped).toEqual({});
  });

  it('a bundle with one bad frame is dropped whole, even sealed under the right key', () => {
    const net = network({ pack: true });
    const a = net.node('ana@x.org', 1001);
    const b = net.node('bia@x.org', 1002);
    net.publish(a, b);
    // seal as A would: the real pairwise keys of A → B
    const keys = derivePeerKeys({ keyPair: a.keys, email: 'ana@x.org' }, { publicKey: b.keys.publicKey, email: 'bia@x.org' })._unsafeUnwrap();
    const tx = createSession(keys).tx;
    const good = encodeChat({ type: 'CHAT', seq: 0, floor: 0, messageId: new Uint8Array(8).fill(3), index: 0, count: 1, payload: Buffer.from('good one') })._unsafeUnwrap();
    const bundle = encodeBundle([
      { code: Type.CHAT, bytes: good },
      { code: Type.ACK, bytes: encodeAck({ type: 'ACK', cum: 0, sack: 0n, floor: 0 })._unsafeUnwrap() },
    ])._unsafeUnwrap();
    const broken = Uint8Array.from(bundle);
    broken[3 + good.length + 2] = 15; // the ACK frame claims 15 bytes of its 16
    expect(decodeBundle(broken).isErr()).toBe(true);
    const counter = tx.take()._unsafeUnwrap();
    const header = encodePeerHeader(Type.BUNDLE, keyIdOf(a.keys.publicKey), counter);
    net.deliver(Buffer.concat([header, tx.seal(counter, header, broken)]), a.address, b.address);
    expect(b.dropped['peer.malformed']).toBe(1);
    expect(b.received).toEqual([]);
    net.clock.advance(1_000);
    expect(net.wire.filter((w) => w.from === 1002)).toEqual([]);
  });

  it('moves in-flight retransmissions to the peer’s new address when presence updates it', () => {
    const net = network();
    const a = net.node('ana@x.org', 1001);
    const b = net.node('bia@x.org', 1002);
    net.publish(a, b);
    // B's old address goes dark, B now listens on 2002
    net.blackhole.add(1002);
    net.byPort.set(2002, b);
    const id = newMessageId();
    a.hub.send('bia@x.org', id, 'follow me');
    net.clock.advance(500);
    expect(b.received).toEqual([]);
    expect(a.hub.channelStats('bia@x.org')!.stats.retransmits).toBeGreaterThan(0);
    // the presence UPDATE: same key, new address
    b.address = addr(2002);
    net.publish(a, b);
    net.clock.runUntil(() => a.acked.length === 1, 5_000);
    expect(b.received.map((r) => r.text)).toEqual(['follow me']);
    expect(a.failed).toEqual([]);
  });

  it('a peer key change is a new login: the old channel fails what it held, the new one works', () => {
    const net = network();
    const a = net.node('ana@x.org', 1001);
    const b = net.node('bia@x.org', 1002);
    net.publish(a, b);
    net.blackhole.add(1002);
    const stuck = newMessageId();
    a.hub.send('bia@x.org', stuck, 'to the old login');
    net.clock.advance(300);
    // B logs in again: new key pair, new hub state
    net.blackhole.delete(1002);
    b.keys = generateKeyPair();
    b.hub.start(b.keys, 'bia@x.org');
    net.publish(a, b);
    expect(a.failed).toEqual([{ peer: 'bia@x.org', id: stuck }]);
    const fresh = newMessageId();
    a.hub.send('bia@x.org', fresh, 'to the new login');
    net.clock.runUntil(() => a.acked.length === 1, 2_000);
    expect(b.received.map((r) => r.text)).toEqual(['to the new login']);
  });

  it('a retry of a message whose acknowledgement was lost is not shown twice', () => {
    const net = network();
    const a = net.node('ana@x.org', 1001);
    const b = net.node('bia@x.org', 1002);
    net.publish(a, b);
    net.blackhole.add(1001); // nothing comes back to A
    const id = newMessageId();
    a.hub.send('bia@x.org', id, 'only once please');
    net.clock.runUntil(() => a.failed.length === 1, 15_000);
    expect(b.received).toHaveLength(1);
    net.blackhole.delete(1001);
    a.hub.send('bia@x.org', id, 'only once please');
    net.clock.runUntil(() => a.acked.length === 1, 2_000);
    expect(a.acked).toEqual([{ peer: 'bia@x.org', id }]);
    expect(b.received).toHaveLength(1);
    expect(b.dropped['peer.duplicate_message']).toBe(1);
  });

  it('refuses what cannot be sent, with a reason', () => {
    const net = network();
    const a = net.node('ana@x.org', 1001);
    net.publish(a);
    expect(a.hub.send('bia@x.org', newMessageId(), 'hi')._unsafeUnwrapErr().reason).toBe('peer_offline');
    expect(a.hub.send('ana@x.org', newMessageId(), 'hi me')._unsafeUnwrapErr().reason).toBe('peer_offline');
    expect(encodeText('')._unsafeUnwrapErr().reason).toBe('empty');
    expect(encodeText(' \n\t ')._unsafeUnwrapErr().reason).toBe('empty');
    expect(encodeText('€'.repeat(MAX_MESSAGE_BYTES / 3 + 1))._unsafeUnwrapErr().reason).toBe('too_long');
    expect(encodeText('x'.repeat(MAX_MESSAGE_BYTES))._unsafeUnwrap().length).toBe(MAX_MESSAGE_BYTES);
    a.hub.stop();
    expect(a.hub.send('bia@x.org', newMessageId(), 'hi')._unsafeUnwrapErr().reason).toBe('not_online');
  });
});
