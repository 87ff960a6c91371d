/**
 * Direct conversations over real UDP on loopback, with the real server process and headless
 * clients: concurrent chat with order and exactly-once checked on every message, a 60 KiB message,
 * a peer killed with SIGKILL and coming back, a forged sender, a peer that changes address, and a
 * look at every datagram for the text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyActorRef } from 'xstate';
import { conversationId } from '../../machines/session.ts';
import { generateKeyPair } from '../../runtime/crypto/keys.ts';
import { derivePeerKeys } from '../../runtime/crypto/peer.ts';
import { createSession } from '../../runtime/crypto/session.ts';
import { createChatClient, MAX_MESSAGE_BYTES, SETTLE_MS, type ChatClient, type ChatLine, type ChatLineMessage } from '../../runtime/client.ts';
import { keyIdOf } from '../../runtime/peer/hub.ts';
import { Type } from '../../runtime/wire/constants.ts';
import { encodeChat } from '../../runtime/wire/chat.ts';
import { encodePeerHeader } from '../../runtime/wire/peer.ts';
import type { Address } from '../../runtime/wire/types.ts';
import { spawnClient, type ClientProc } from '../support/client-proc-driver.ts';
import { inRoster } from '../support/clients.ts';
import { startProxy, type Proxy } from '../support/proxy.ts';
import { startServer, tempDir, type ServerProc } from '../support/server.ts';

const INTERVAL = 200;
const MISSES = 3;
const SUSPECT_PROBES = 5;
const SUSPECT_INTERVAL = 40;
/** the server's detection time: misses × interval, then the suspicion phase */
const DETECTION = INTERVAL * MISSES + SUSPECT_PROBES * SUSPECT_INTERVAL;
/** scheduling slack on a loaded 2-core machine */
const SLACK = 400;
/** in every message, so the wire can be searched for it */
const MARK = 'PLAINTEXT-MARK';

let server: ServerProc;
let proxy: Proxy;
const clients: ChatClient[] = [];
const procs: ClientProc[] = [];
/** every datagram every in-process client sent or received, and the proxy's */
const captured: Uint8Array[] = [];

beforeAll(async () => {
  server = await startServer({ interval: INTERVAL, misses: MISSES, suspectProbes: SUSPECT_PROBES, suspectInterval: SUSPECT_INTERVAL });
  proxy = await startProxy(server.host, server.port);
});
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(clients.map((c) => c.stop()));
  await proxy.close();
  await server.kill();
});

async function online(email: string, via: 'direct' | 'proxy' = 'direct'): Promise<ChatClient> {
  const c = await createChatClient({
    server: { host: server.host, port: via === 'proxy' ? proxy.port : server.port },
    dataDir: tempDir('truco-chat-'),
    tap: (_dir, bytes) => captured.push(Uint8Array.from(bytes)),
  });
  clients.push(c);
  c.signUp(email, 'chat password 1');
  await c.waitFor((s) => s.matches('online'));
  return c;
}

async function until<T>(what: string, fn: () => T | undefined | false | null, timeoutMs = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const lines = (c: ChatClient, peer: string): readonly ChatLine[] => c.conversations().get(peer)?.lines ?? [];
const inbound = (c: ChatClient, peer: string) =>
  lines(c, peer).filter((l): l is ChatLineMessage => l.kind === 'message' && l.direction === 'in');
const outbound = (c: ChatClient, peer: string) =>
  lines(c, peer).filter((l): l is ChatLineMessage => l.kind === 'message' && l.direction === 'out');
const system = (c: ChatClient, peer: string) => lines(c, peer).flatMap((l) => (l.kind === 'system' ? [l.event] : []));
const loopback = (port: number): Address => ({ family: 4, host: '127.0.0.1', port });

let a: ChatClient;
let b: ChatClient;
let c: ChatClient;

describe('direct conversations over real UDP', () => {
  it('A↔B and A↔C chat concurrently in both directions: every message once, in order', async () => {
    a = await online('ana@chat.test');
    b = await online('bia@chat.test');
    c = await online('caio@chat.test');
    for (const [x, peers] of [
      [a, ['bia@chat.test', 'caio@chat.test']],
      [b, ['ana@chat.test']],
      [c, ['ana@chat.test']],
    ] as const) {
      await x.waitFor(() => peers.every((p) => inRoster(x, p)));
    }
    const N = 80;
    const flows: Array<[ChatClient, string, ChatClient, string]> = [
      [a, 'bia@chat.test', b, 'ana@chat.test'],
      [b, 'ana@chat.test', a, 'bia@chat.test'],
      [a, 'caio@chat.test', c, 'ana@chat.test'],
      [c, 'ana@chat.test', a, 'caio@chat.test'],
    ];
    const sent = flows.map(() => [] as Array<{ id: string; text: string }>);
    await Promise.all(
      flows.map(async ([from, to], f) => {
        for (let i = 0; i < N; i++) {
          const text = `${MARK} flow ${f} message ${i}${i % 10 === 0 ? ' ' + 'ñ'.repeat(900) : ''}`;
          const r = from.send(to, text);
          expect(r.isOk()).toBe(true);
          sent[f]!.push({ id: r._unsafeUnwrap(), text });
          if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
          else await new Promise((r) => setImmediate(r));
        }
      }),
    );
    for (const [f, [from, to, rcv, fromName]] of flows.entries()) {
      await until(`flow ${f} delivered`, () => inbound(rcv, fromName).length >= N && outbound(from, to).every((l) => l.state === 'delivered'));
      const got = inbound(rcv, fromName).map((l) => ({ id: l.id, text: l.text }));
      // exactly once and in order, message by message
      expect(got).toEqual(sent[f]);
      expect(outbound(from, to).map((l) => l.state)).toEqual(new Array(N).fill('delivered'));
    }
    // a little later, still nothing extra
    await new Promise((r) => setTimeout(r, 300));
    for (const [f, [, , rcv, fromName]] of flows.entries()) expect(inbound(rcv, fromName)).toHaveLength(sent[f]!.length);
    expect(a.conversations().get('bia@chat.test')?.unread).toBe(N);
    a.markRead('bia@chat.test');
    await until('marked read', () => a.conversations().get('bia@chat.test')?.unread === 0);
  });

  it('an acknowledged message shows delivered as soon as its ACK is read, ahead of the machine, and never goes back to pending', async () => {
    const peer = 'bia@chat.test';
    const child = () => a.getSnapshot().children[conversationId(peer)] as AnyActorRef | undefined;
    /** per message id, the states listeners saw, in order (repeats collapsed) */
    const seen = new Map<string, string[]>();
    let ahead = 0;
    const stop = a.subscribeConversations((all) => {
      for (const l of all.get(peer)?.lines ?? []) {
        if (l.kind !== 'message' || l.direction !== 'out') continue;
        const states = seen.get(l.id);
        if (!states) continue;
        if (states.at(-1) === l.state) continue;
        states.push(l.state);
        // the first time a listener sees it delivered: what does the conversation machine hold?
        if (l.state === 'delivered') {
          const own = (child()?.getSnapshot().context.lines as ChatLine[] | undefined)?.find((x) => x.kind === 'message' && x.id === l.id);
          if (!own || (own.kind === 'message' && own.state === 'pending')) ahead++;
        }
      }
    });
    const N = 40;
    for (let i = 0; i < N; i++) {
      const r = a.send(peer, `${MARK} one at a time ${i}`);
      expect(r.isOk()).toBe(true);
      const id = r._unsafeUnwrap();
      seen.set(id, ['pending']);
      await until(`message ${i} delivered`, () => outbound(a, peer).find((l) => l.id === id)?.state === 'delivered');
    }
    stop();
    for (const [id, states] of seen) expect({ id, states }).toEqual({ id, states: ['pending', 'delivered'] });
    // shown by the runtime when the ACK was read, before the machine's DELIVERY.BATCH at the end
    // of that pass of the event loop; which then agreed
    expect(ahead).toBeGreaterThan(0);
    await until('the machine settled them all', () =>
      (child()?.getSnapshot().context.lines as ChatLine[]).filter((l) => l.kind === 'message' && seen.has(l.id) && l.state === 'delivered').length === N,
    );
  });

  it('the conversation takes what the views show, in the same order: at once before any call reaches the session, else within SETTLE_MS', async () => {
    const peer = 'bia@chat.test';
    const child = () => a.getSnapshot().children[conversationId(peer)] as AnyActorRef | undefined;
    const ids = new Set<string>();
    const named = (ls: readonly ChatLine[]) => ls.flatMap((l) => (l.kind === 'message' && ids.has(l.id) ? [`${l.direction} ${l.id} ${l.state}`] : []));
    const held = () => named(child()?.getSnapshot().context.lines as ChatLine[]);
    const shown = () => named(lines(a, peer));
    // both ways at once: A's sent and received lines interleave
    for (let i = 0; i < 30; i++) {
      ids.add(a.send(peer, `${MARK} both ways a ${i}`)._unsafeUnwrap());
      ids.add(b.send('ana@chat.test', `${MARK} both ways b ${i}`)._unsafeUnwrap());
      await new Promise((r) => setImmediate(r));
    }
    await until('all 60 shown, delivered', () => shown().length === 60 && shown().every((l) => l.endsWith(' delivered')));
    // a call that reaches the session (markRead here) first hands the conversation what the view
    // shows, so the machine holds the same lines in the same order
    const before = shown();
    a.markRead(peer);
    expect(held()).toEqual(before);
    expect(child()?.getSnapshot().context.unread).toBe(0);
    // a message sent in the same turn as another call: the machine has it when that call is made
    const first = a.send(peer, `${MARK} then mark read`)._unsafeUnwrap();
    ids.add(first);
    expect(lines(a, peer).at(-1)).toMatchObject({ id: first, state: 'pending' });
    a.markRead(peer);
    expect(held().at(-1)).toBe(`out ${first} pending`);
    // with nothing else going on, within SETTLE_MS (and the scheduling of a loaded machine)
    const alone = a.send(peer, `${MARK} alone`)._unsafeUnwrap();
    ids.add(alone);
    const t0 = performance.now();
    await until('the machine holds it', () => held().some((l) => l.includes(alone)));
    expect(performance.now() - t0).toBeLessThan(SETTLE_MS + SLACK);
    await until('the machine has them delivered', () => held().length === 62 && held().every((l) => l.endsWith(' delivered')));
    expect(held()).toEqual(shown());
  });

  it('a 60 KiB message arrives intact; empty and over-long ones get a clear error', async () => {
    const unit = `${MARK} ação €uro 🂡 `;
    let big = '';
    while (Buffer.byteLength(big + unit) <= 60 * 1024) big += unit;
    expect(Buffer.byteLength(big)).toBeGreaterThan(60 * 1024 - 64);
    const id = a.send('bia@chat.test', big)._unsafeUnwrap();
    const got = await until('the big message', () => inbound(b, 'ana@chat.test').find((l) => l.id === id));
    expect(got.text).toBe(big);
    await until('delivered', () => outbound(a, 'bia@chat.test').find((l) => l.id === id)?.state === 'delivered');
    expect(a.send('bia@chat.test', '')._unsafeUnwrapErr()).toEqual({ type: 'SendError', reason: 'empty' });
    expect(a.send('bia@chat.test', '   ')._unsafeUnwrapErr().reason).toBe('empty');
    expect(a.send('bia@chat.test', 'x'.repeat(MAX_MESSAGE_BYTES + 1))._unsafeUnwrapErr()).toEqual({ type: 'SendError', reason: 'too_long' });
    expect(a.send('bia@chat.test', 'é'.repeat(MAX_MESSAGE_BYTES / 2 + 1))._unsafeUnwrapErr().reason).toBe('too_long');
    expect(a.retry('bia@chat.test', id)._unsafeUnwrapErr().reason).toBe('unknown_message');
  });

  it('a datagram crafted by C claiming to be B is dropped and never shown in A’s conversation with B', async () => {
    const before = inbound(a, 'bia@chat.test').length;
    const dropped = () => a.stats.dropped['peer.forged'] ?? 0;
    const forgedBefore = dropped();
    // C makes up a key and seals a CHAT for A under B's key id
    const made = generateKeyPair();
    const keys = derivePeerKeys({ keyPair: made, email: 'bia@chat.test' }, { publicKey: a.peerPublicKey!, email: 'ana@chat.test' })._unsafeUnwrap();
    const forger = createSession(keys);
    const claim = keyIdOf(b.peerPublicKey!);
    const datagrams: Uint8Array[] = [];
    for (let seq = 0; seq < 5; seq++) {
      const body = encodeChat({
        type: 'CHAT',
        seq: 1_000 + seq,
        floor: 1_000,
        messageId: new Uint8Array(8).fill(seq + 1),
        index: 0,
        count: 1,
        payload: Buffer.from(`FORGED ${seq}: send the money`),
      })._unsafeUnwrap();
      // counters above anything B used, so the replay window lets them through to the AEAD check
      const counter = 5_000_000n + BigInt(seq);
      const header = encodePeerHeader(Type.CHAT, claim, counter);
      datagrams.push(Buffer.concat([header, forger.tx.seal(counter, header, body)]));
    }
    for (const d of datagrams) c.udp.send(d, loopback(a.address.port));
    // and a genuine datagram of B's, replayed from C's socket
    const fromB = captured.filter((d) => d[1] === Type.CHAT && Buffer.from(d.subarray(2, 10)).equals(Buffer.from(claim)));
    expect(fromB.length).toBeGreaterThan(0);
    const replayedBefore = a.stats.dropped['peer.replayed'] ?? 0;
    c.udp.send(fromB[0]!, loopback(a.address.port));
    await until('forgeries counted', () => dropped() >= forgedBefore + 5 && (a.stats.dropped['peer.replayed'] ?? 0) > replayedBefore);
    await new Promise((r) => setTimeout(r, 100));
    expect(inbound(a, 'bia@chat.test')).toHaveLength(before);
    expect(inbound(a, 'bia@chat.test').some((l) => l.text.includes('FORGED'))).toBe(false);
    expect(inbound(a, 'caio@chat.test').some((l) => l.text.includes('FORGED'))).toBe(false);
    // A and B still talk
    const id = b.send('ana@chat.test', `${MARK} still here`)._unsafeUnwrap();
    await until('B → A after the forgery', () => inbound(a, 'bia@chat.test').find((l) => l.id === id));
  });

  it('when a peer’s address changes, the message in flight follows it to the new address', async () => {
    const d = await online('dora@chat.test', 'proxy');
    await a.waitFor(() => inRoster(a, 'dora@chat.test'));
    const oldAddress = a.getSnapshot().context.roster.members.get('dora@chat.test')!.address;
    a.openConversation('dora@chat.test');
    const warm = a.send('dora@chat.test', `${MARK} hello dora`)._unsafeUnwrap();
    await until('warm-up delivered', () => outbound(a, 'dora@chat.test').find((l) => l.id === warm)?.state === 'delivered');
    // dora's way to the server moves (her old address is dead from now on)
    proxy.rebind(d.address.port);
    const id = a.send('dora@chat.test', `${MARK} follow me`)._unsafeUnwrap();
    await until('the presence update', () => {
      const now = a.getSnapshot().context.roster.members.get('dora@chat.test')?.address;
      return now !== undefined && now.port !== oldAddress.port;
    });
    const got = await until('delivered at the new address', () => inbound(d, 'ana@chat.test').find((l) => l.id === id), 8_000);
    expect(got.text).toBe(`${MARK} follow me`);
    await until('acknowledged', () => outbound(a, 'dora@chat.test').find((l) => l.id === id)?.state === 'delivered');
    expect(a.peers.channelStats('dora@chat.test')!.stats.retransmits).toBeGreaterThan(0);
    expect(system(a, 'dora@chat.test')).toEqual([]);
  });

  it('a peer killed with SIGKILL: Disconnected and sending refused within the detection time; back → Connected and the next message arrives', async () => {
    const email = 'bruno@chat.test';
    const spawn = async (cmd: 'signup' | 'login') => {
      const p = await spawnClient(server.host, server.port, tempDir('truco-chat-proc-'));
      procs.push(p);
      p.send({ cmd, email, password: 'bruno password' });
      await p.waitFor((v) => v.state === 'online' && v.roster.includes('ana@chat.test'));
      return p;
    };
    const bruno = await spawn('signup');
    await a.waitFor(() => inRoster(a, email));
    a.openConversation(email);
    expect(a.conversations().get(email)).toMatchObject({ connected: true, canSend: true, reason: null, lines: [] });
    const first = a.send(email, `${MARK} before`)._unsafeUnwrap();
    await bruno.waitFor((v) => v.convs['ana@chat.test']?.lines.some((l) => l.id === first) ?? false);
    bruno.send({ cmd: 'send', peer: 'ana@chat.test', text: `${MARK} hi ana` });
    await until('bruno → ana', () => inbound(a, email).length === 1);

    bruno.kill('SIGKILL');
    const t0 = performance.now();
    // sent to a dead peer: pending, then failed when the server says it is gone
    const lost = a.send(email, `${MARK} while dying`)._unsafeUnwrap();
    expect(outbound(a, email).find((l) => l.id === lost)?.state).toBe('pending');
    await until('disconnected', () => a.conversations().get(email)?.connected === false, DETECTION + 5_000);
    const took = performance.now() - t0;
    // the server's detection time, plus one interval for the LEAVE to reach A in a TRUCO
    console.log(`A saw the killed peer disconnected after ${took.toFixed(0)} ms (bound ${DETECTION + INTERVAL} ms + ${SLACK} ms slack)`);
    expect(took).toBeLessThanOrEqual(DETECTION + INTERVAL + SLACK);
    expect(a.conversations().get(email)).toMatchObject({ connected: false, canSend: false, reason: 'peer_offline' });
    expect(system(a, email)).toEqual(['disconnected']);
    expect(outbound(a, email).find((l) => l.id === lost)?.state).toBe('failed');
    expect(a.send(email, `${MARK} anyone?`)._unsafeUnwrapErr()).toEqual({ type: 'SendError', reason: 'peer_offline' });
    expect(a.retry(email, lost)._unsafeUnwrapErr().reason).toBe('peer_offline');

    const again = await spawn('login');
    await until('connected again', () => a.conversations().get(email)?.connected === true);
    expect(system(a, email)).toEqual(['disconnected', 'connected']);
    const next = a.send(email, `${MARK} after return`)._unsafeUnwrap();
    const seen = await again.waitFor((v) => v.convs['ana@chat.test']?.lines.some((l) => l.id === next) ?? false);
    expect(seen.convs['ana@chat.test']!.lines.map((l) => (l.kind === 'message' ? l.text : l.event))).toEqual([`${MARK} after return`]);
    // the failed one, retried now that the peer is back
    expect(a.retry(email, lost).isOk()).toBe(true);
    await again.waitFor((v) => v.convs['ana@chat.test']?.lines.some((l) => l.id === lost) ?? false);
    await until('retry delivered', () => outbound(a, email).find((l) => l.id === lost)?.state === 'delivered');
    expect(outbound(a, email).map((l) => l.state)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(system(a, email)).toEqual(['disconnected', 'connected']);
  });

  it('no message text appears in any datagram captured on the path', () => {
    const wire = [...captured, ...proxy.captured.map((x) => x.bytes)];
    expect(wire.length).toBeGreaterThan(500);
    const needles = [MARK, 'ação €uro', 'flow 0 message', 'follow me', 'ñññññ'].map((s) => Buffer.from(s));
    for (const d of wire) {
      const buf = Buffer.from(d);
      expect(buf.length).toBeLessThanOrEqual(1200);
      for (const n of needles) expect(buf.includes(n)).toBe(false);
    }
    // peer datagrams were there to look at
    expect(wire.filter((d) => d[1] === Type.CHAT).length).toBeGreaterThan(300);
    expect(wire.filter((d) => d[1] === Type.ACK).length).toBeGreaterThan(300);
  });
});
