/**
 * The receive paths of the server host and of the headless client, fuzzed in-process over
 * real loopback UDP with mutations of datagrams captured from a real session (the short
 * version of test/faults/hostile.fault.ts): nothing accepted, nothing thrown, no state change.
 */
import dgram from 'node:dgram';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient, type ChatClient } from '../../runtime/client.ts';
import { generateKeyPair } from '../../runtime/crypto/keys.ts';
import { silentLogger } from '../../runtime/log.ts';
import { Type } from '../../runtime/wire/constants.ts';
import { decodeOuter } from '../../runtime/wire/outer.ts';
import { openAccountStore } from '../../server/accounts.ts';
import { startHost, type Host } from '../../server/host.ts';
import { createMutator } from '../faults/lib/mutator.ts';
import { tempDir } from '../support/server.ts';

const COUNT = Number(process.env.TRUCO_HOSTILE_COUNT ?? 20_000);

let host: Host;
let front: dgram.Socket;
let uplink: dgram.Socket;
let attacker: dgram.Socket[] = [];
let target: ChatClient;
let watcher: ChatClient;
/** every datagram of the target's session, both ways, as the relay saw it */
const captured: Buffer[] = [];

const bind = (): Promise<dgram.Socket> =>
  new Promise((res) => {
    const s = dgram.createSocket('udp4');
    s.on('error', () => {});
    s.bind(0, '127.0.0.1', () => res(s));
  });
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
/** datagrams the host refused ('stale.budget' counts a STALE answer it withheld, not a datagram) */
const refusedByHost = () => sum(host.stats.dropped) - (host.stats.dropped['stale.budget'] ?? 0);
const tick = () => new Promise((r) => setImmediate(r));

async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** What the host may legitimately answer without any state: a well-formed HELLO or KEY_REQ. */
const stateless = (b: Uint8Array) => {
  const d = decodeOuter(b);
  return d.isOk() && (d.value.type === 'HELLO' || d.value.type === 'KEY_REQ');
};

/**
 * Sends datagrams in batches of 64, waiting until the receiver has read all but one batch
 * (`received()` counts what it read), so no socket buffer overflows and every datagram is seen.
 */
async function spray(list: Uint8Array[], to: number, from: dgram.Socket[], received: () => number): Promise<void> {
  const start = received();
  for (let i = 0; i < list.length; i++) {
    from[i % from.length]!.send(list[i]!, to, '127.0.0.1');
    if (i % 64 === 63) {
      const end = Date.now() + 5000;
      while (received() - start < i - 64 && Date.now() < end) await tick();
    }
  }
}

/** Makes `n` datagrams, yielding to the event loop now and then (the host and clients live here too). */
async function generate(n: number, make: () => Uint8Array): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  while (out.length < n) {
    out.push(make());
    if (out.length % 500 === 0) await tick();
  }
  return out;
}

function snapshotOf(c: ChatClient) {
  const s = c.getSnapshot();
  return { value: JSON.stringify(s.value), sid: s.context.session?.sid, roster: [...s.context.roster.members.keys()].sort(), version: s.context.roster.version };
}

beforeAll(async () => {
  const store = openAccountStore(':memory:', { scrypt: { N: 2 ** 10, r: 8, p: 1, keyLen: 32 } })._unsafeUnwrap();
  host = await startHost({ host: '127.0.0.1', port: 0, store, key: generateKeyPair(), logger: silentLogger, intervalMs: 500, misses: 3, suspectProbes: 10, suspectIntervalMs: 75 });
  // the target reaches the server through a relay, so the test can speak from "the server's" address
  front = await bind();
  uplink = await bind();
  let clientPort = 0;
  front.on('message', (m, r) => {
    clientPort = r.port;
    captured.push(Buffer.from(m));
    uplink.send(m, host.address.port, '127.0.0.1');
  });
  uplink.on('message', (m) => {
    captured.push(Buffer.from(m));
    front.send(m, clientPort, '127.0.0.1');
  });
  target = await createChatClient({ server: { host: '127.0.0.1', port: front.address().port }, dataDir: tempDir('truco-hostile-') });
  watcher = await createChatClient({ server: { host: '127.0.0.1', port: host.address.port }, dataDir: tempDir('truco-hostile-') });
  target.signUp('target@hostile.test', 'target password');
  watcher.signUp('watcher@hostile.test', 'watcher password');
  await target.waitFor((s) => s.matches('online') && s.context.roster.members.size === 2);
  await watcher.waitFor((s) => s.matches('online') && s.context.roster.members.size === 2);
  await new Promise((r) => setTimeout(r, 800));
  attacker = await Promise.all(Array.from({ length: 8 }, bind));
});

afterAll(async () => {
  await target?.stop();
  await watcher?.stop();
  await host?.stop();
  for (const s of [front, uplink, ...attacker]) s?.close();
});

describe('fuzzing the receive paths with mutated real captures', () => {
  it(`the server host: ${COUNT} mutated and random datagrams from 8 ports, none accepted, no state change`, async () => {
    const sids = [...new Set(captured.filter((b) => b.length >= 14).map((b) => b.readUInt32BE(2)))];
    const mutator = createMutator(captured, { seed: 20_240_611, sids });
    const list = await generate(COUNT, () => mutator.next());
    const answerable = list.filter(stateless).length;
    const before = { dropped: refusedByHost(), received: host.udp.stats.received, sessions: host.stats.sessions, version: host.registry.getSnapshot().context.presence.version };
    const t = snapshotOf(target);
    await spray(list, host.address.port, attacker, () => host.udp.stats.received);
    await until(() => host.udp.stats.received - before.received >= COUNT);
    await new Promise((r) => setTimeout(r, 100));
    const received = host.udp.stats.received - before.received;
    const refused = refusedByHost() - before.dropped;
    // every datagram that reached the host was refused, except the stateless HELLO / KEY_REQ it answers
    expect(received).toBeGreaterThanOrEqual(COUNT);
    expect(refused).toBeGreaterThanOrEqual(COUNT - answerable);
    expect(refused).toBeLessThanOrEqual(COUNT);
    expect(host.stats.sessions).toBe(before.sessions);
    expect(host.registry.getSnapshot().context.presence.version).toBe(before.version);
    expect(snapshotOf(target)).toEqual(t);
    expect(watcher.getSnapshot().matches('online')).toBe(true);
  });

  it(`the client: ${COUNT} mutated and random datagrams from its server's own address, every one refused, no state change`, async () => {
    const c = snapshotOf(target);
    const sid = c.sid!;
    const mutator = createMutator(captured, { seed: 7, sids: [sid] });
    // nothing is exempt: even a well-formed STALE naming the session needs its reset token (§2.6)
    const list = await generate(COUNT, () => mutator.next());
    const before = { dropped: sum(target.stats.dropped), received: target.udp.stats.received };
    await spray(list, target.address.port, [front], () => target.udp.stats.received);
    await until(() => sum(target.stats.dropped) - before.dropped >= COUNT);
    await new Promise((r) => setTimeout(r, 100));
    const refused = sum(target.stats.dropped) - before.dropped;
    const received = target.udp.stats.received - before.received;
    // every one refused (the genuine datagrams that arrived meanwhile are the only others)
    expect(refused).toBeGreaterThanOrEqual(COUNT);
    expect(received - refused).toBeLessThan(40);
    const after = snapshotOf(target);
    expect(after.value).toBe(c.value);
    expect(after.sid).toBe(c.sid);
    expect(after.roster).toEqual(c.roster);
  });

  it('fast-check: byte patches of captured datagrams, sent to both, never accepted (shrinks to the datagram if ever)', async () => {
    const seeds = captured.filter((b) => b[1] !== Type.HELLO && b[1] !== Type.KEY_REQ);
    const patch = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }));
    const datagram = fc
      .tuple(fc.nat(seeds.length - 1), fc.array(patch, { minLength: 1, maxLength: 6 }), fc.option(fc.nat(1300), { nil: undefined }))
      .map(([i, patches, cut]) => {
        const b = Buffer.from(seeds[i]!);
        for (const [at, x] of patches) b[at % b.length] = (b[at % b.length] ?? 0) ^ x;
        return cut === undefined ? b : b.subarray(0, cut);
      });
    const sid = snapshotOf(target).sid!;
    await fc.assert(
      fc.asyncProperty(fc.array(datagram, { minLength: 1, maxLength: 40 }), async (list) => {
        const hostBefore = { dropped: refusedByHost(), received: host.udp.stats.received };
        const clientBefore = sum(target.stats.dropped);
        const toClient = list;
        await spray(list, host.address.port, attacker, () => host.udp.stats.received);
        await spray(toClient, target.address.port, [front], () => target.udp.stats.received);
        await until(() => host.udp.stats.received - hostBefore.received >= list.length && sum(target.stats.dropped) - clientBefore >= toClient.length, 3000);
        const answerable = list.filter(stateless).length;
        expect(refusedByHost() - hostBefore.dropped).toBeGreaterThanOrEqual(list.length - answerable);
        expect(sum(target.stats.dropped) - clientBefore).toBeGreaterThanOrEqual(toClient.length);
      }),
      { numRuns: 60, seed: 42 },
    );
    expect(target.getSnapshot().matches('online')).toBe(true);
  });
});
