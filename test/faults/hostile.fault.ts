/**
 * Hostile input against the real server and real clients inside a network namespace, built
 * from a real packet capture (tcpdump on the namespace's loopback):
 *
 * - forgeries: ≥ 10 000 forged, replayed and byte-flipped datagrams against the server (sent
 *   from a SIGKILLed client's own address), against a client (sent from the SIGKILLed server's
 *   own address), and chat claiming another sender (sent from that SIGKILLed peer's address):
 *   none accepted, and every crash is still detected on schedule;
 * - fuzzing: random and mutated datagrams (mutations of the captures) into the server's and a
 *   client's receive paths: no crash, no state change, memory bounded, probes on schedule;
 * - a flood of 100 000 handshake starts from many source ports: memory bounded, logins succeed.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seal } from '../../runtime/crypto/aead.ts';
import { SESSION_TYPES, Type } from '../../runtime/wire/constants.ts';
import { encodeHold, encodeSessionHeader, encodeStale } from '../../runtime/wire/outer.ts';
import { FULL, record } from './lib/figures.ts';
import { packDatagrams } from './lib/mutator.ts';
import { Netns } from './lib/netns.ts';
import { readPcap, startCapture, type Capture, type Datagram } from './lib/pcap.ts';
import {
  backOnlineAt,
  Farm,
  nextStats,
  sleep,
  startAgent,
  startServerIn,
  tempDir,
  until,
  type ClientView,
  type LogEvent,
  type ServerInNs,
} from './lib/procs.ts';

const PASSWORD = 'hostile suite password';
const FUZZ_COUNT = FULL ? 1_000_000 : 100_000;
const FUZZ_RATE = 20_000;
/** the client's datagrams cross a relay (two hops in one process), so they go slower */
const FUZZ_CLIENT_RATE = 8_000;
const FLOOD_COUNT = 100_000;
/** the same promise as S2: a SIGKILLed client is gone within 6 s at the default settings */
const EVICT_BOUND_MS = 6000;

let ns: Netns;
let dir: string;
let server: ServerInNs;
let capture: Capture;
let farmV: Farm;
let farmB: Farm;
let farmW: Farm;
let V: ClientView;
let W: ClientView;
let O: ClientView;
let T: ClientView;
/** genuine traffic captured before any attack */
let genuine: Datagram[] = [];

const sidOf = (b: Uint8Array) => Buffer.from(b).readUInt32BE(2);

/** A batch of forged datagrams, counted by kind for the figures. */
function forgeries() {
  const forged: Buffer[] = [];
  const kinds: Record<string, number> = {};
  const add = (kind: string, list: Buffer[]) => {
    forged.push(...list);
    kinds[kind] = (kinds[kind] ?? 0) + list.length;
  };
  return { forged, kinds, add };
}
const isSession = (b: Uint8Array) => b.length >= 30 && SESSION_TYPES.has(b[1] ?? 0);
const sumWhere = (stats: LogEvent, pred: (k: string) => boolean) =>
  Object.entries((stats.dropped ?? {}) as Record<string, number>).reduce((a, [k, v]) => a + (pred(k) ? v : 0), 0);
const clientDropped = (d: unknown) => Object.values((d ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);

/** A session datagram sealed under a key nobody has, for `sid` at `counter`. */
function forgeSession(code: number, sid: number, counter: bigint, body: Uint8Array): Buffer {
  const header = encodeSessionHeader(code, sid, counter);
  return Buffer.concat([header, seal(randomBytes(32), Number(counter), header, body)]);
}

/** Every single-byte change of `b`: each position XORed with each of the 255 non-zero masks. */
function everyByteFlip(b: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i++) {
    for (let m = 1; m < 256; m++) {
      const c = Buffer.from(b);
      c[i] = (c[i] ?? 0) ^ m;
      out.push(c);
    }
  }
  return out;
}

function withCounter(b: Uint8Array, counter: bigint): Buffer {
  const c = Buffer.from(b);
  c.writeBigUInt64BE(counter, 6);
  return c;
}

function withSid(b: Uint8Array, sid: number): Buffer {
  const c = Buffer.from(b);
  c.writeUInt32BE(sid >>> 0, 2);
  return c;
}

beforeAll(async () => {
  ns = await Netns.create();
  dir = tempDir();
  capture = await startCapture(ns, join(dir, 'capture.pcap'));
  server = await startServerIn(ns, { dir: join(dir, 'server') });
  farmV = await Farm.start(ns, server, join(dir, 'farmV'), 'farmV');
  farmB = await Farm.start(ns, server, join(dir, 'farmB'), 'farmB');
  farmW = await Farm.start(ns, server, join(dir, 'farmW'), 'farmW');
  V = farmV.add('V', 'victim@hostile.test', PASSWORD, true);
  W = farmW.add('W', 'watcher@hostile.test', PASSWORD, true);
  O = farmB.add('O', 'other@hostile.test', PASSWORD, true);
  T = farmB.add('T', 'target@hostile.test', PASSWORD, true);
  await until(() => [V, W, O, T].every((c) => c.state === 'online'), 60_000, 'four clients online');
  // V's first session ends with a BYE (captured), then V logs in again
  farmV.send({ cmd: 'logout', id: 'V' });
  await until(() => V.state === 'signedOut', 10_000, 'V signed out');
  farmV.send({ cmd: 'login', id: 'V', email: V.email, password: PASSWORD });
  await until(() => V.state === 'online', 20_000, 'V online again');
  await until(() => [W, O, T].every((c) => c.roster.size === 4), 20_000, 'rosters complete');
  await sleep(3500);
  genuine = readPcap(capture.file);
});

afterAll(async () => {
  await capture?.stop().catch(() => '');
  await ns?.close();
});

describe('forged, replayed and byte-flipped datagrams (real captures, real processes)', () => {
  it('against the server, from a SIGKILLed client\'s own address: none accepted, and the crash is detected on schedule', async () => {
    const sp = server.port;
    const up = (port: number) => genuine.filter((d) => d.src === port && d.dst === sp).map((d) => d.payload);
    const upV = up(V.port).filter(isSession);
    const seisV = upV.filter((b) => b[1] === Type.SEIS);
    const seisO = up(O.port).filter((b) => b[1] === Type.SEIS);
    const byeV = upV.filter((b) => b[1] === Type.BYE);
    expect(seisV.length).toBeGreaterThan(2);
    expect(seisO.length).toBeGreaterThan(2);
    expect(byeV.length).toBeGreaterThan(0);
    const latest = seisV.at(-1)!;
    const vSid = sidOf(latest);
    const oSid = sidOf(seisO.at(-1)!);
    const counter = latest.readBigUInt64BE(6);

    const { forged, kinds, add } = forgeries();
    // replays: everything V sent in its two sessions (SEIS, ROSTER_REQ, the old session's BYE)
    add('replayed', [...upV, ...upV, ...upV]);
    // every single-byte change of V's latest SEIS
    add('byte flips', everyByteFlip(latest));
    // O's SEIS from V's address; V's SEIS moved onto O's session; seis sealed under made-up keys
    add('seis for another session', [
      ...seisO,
      ...seisV.map((b) => withSid(b, oSid)),
      ...Array.from({ length: 300 }, (_, i) => forgeSession(Type.SEIS, oSid, 1_000_000n + BigInt(i), randomBytes(12))),
      ...Array.from({ length: 100 }, (_, i) => forgeSession(Type.SEIS, vSid, counter + 1n + BigInt(i), randomBytes(12))),
    ]);
    // old and shifted counters on a genuine SEIS
    add('old counters', [
      ...Array.from({ length: 300 }, (_, i) => withCounter(latest, BigInt(i))),
      ...Array.from({ length: 100 }, (_, i) => withCounter(latest, counter + 1n + BigInt(i))),
    ]);
    // a BYE for O, and for V's live session, under made-up keys
    add('forged BYE', [
      ...Array.from({ length: 50 }, (_, i) => forgeSession(Type.BYE, oSid, 2_000_000n + BigInt(i), new Uint8Array(0))),
      ...Array.from({ length: 50 }, (_, i) => forgeSession(Type.BYE, vSid, counter + 500n + BigInt(i), new Uint8Array(0))),
      ...byeV.map((b) => withSid(b, vSid)),
    ]);
    expect(forged.length).toBeGreaterThanOrEqual(10_000);
    const file = join(dir, 'forged-server.bin');
    writeFileSync(file, packDatagrams(forged));

    const attacker = startAgent(ns, 'attacker.ts', [String(V.port), '127.0.0.1', String(sp), file, '5000']);
    await sleep(1500); // the attacker is up and waiting for V's port
    const s0 = await nextStats(server, Date.now());
    const udp0 = await ns.udpCounters();
    const killT = Date.now();
    await farmV.kill('SIGKILL');
    const done = await attacker.waitFor((e) => e.ev === 'done', 30_000);
    const s1 = await nextStats(server, done.t);
    const udp1 = await ns.udpCounters();
    const left = server.events.find((e) => e.event === 'user.left' && e.email === V.email && e.t >= killT);
    const after = server.events.filter((e) => e.t >= killT);
    const refused = sumWhere(s1, (k) => k.startsWith('session.') || k.startsWith('wire.')) - sumWhere(s0, (k) => k.startsWith('session.') || k.startsWith('wire.'));
    const kernelDrops = (udp1.RcvbufErrors ?? 0) - (udp0.RcvbufErrors ?? 0);
    const accepted = Number(done.sent) - refused - kernelDrops;
    const evictMs = left ? left.t - killT : NaN;
    record('forgeries → server', [
      ['datagrams (replayed / flipped / other session / old counter / BYE)', `${forged.length} (${Object.values(kinds).join(' / ')})`, '≥ 10000'],
      ['refused and counted by the server', refused],
      ['accepted', accepted, '0'],
      ['SIGKILLed client evicted after ms', evictMs, `≤ ${EVICT_BOUND_MS}`],
    ]);
    expect(done.sent).toBe(forged.length);
    expect(kernelDrops).toBe(0);
    expect(accepted).toBe(0);
    expect(left?.reason).toBe('offline');
    expect(evictMs).toBeGreaterThanOrEqual(3000);
    expect(evictMs).toBeLessThanOrEqual(EVICT_BOUND_MS);
    // nothing a forgery could have caused
    expect(after.filter((e) => e.event === 'liveness.recovered' && e.email === V.email)).toEqual([]);
    expect(after.filter((e) => ['session.moved', 'session.closed', 'session.opened', 'account.created'].includes(e.event))).toEqual([]);
    expect(after.filter((e) => e.event === 'user.left' && e.email !== V.email)).toEqual([]);
    await until(() => !W.roster.has(V.email), 5000, 'V gone from W\'s roster');
    expect([...W.roster].sort()).toEqual([O.email, T.email, W.email].sort());
    expect(O.states.filter((s) => s.t >= killT)).toEqual([]);
  });

  it('against a client, from the SIGKILLed server\'s own address: none accepted, the silence is noticed on schedule, and it comes back', async () => {
    const sp = server.port;
    const down = (port: number) => genuine.filter((d) => d.src === sp && d.dst === port).map((d) => d.payload).filter(isSession);
    const toT = down(T.port);
    const trucoT = toT.filter((b) => b[1] === Type.TRUCO);
    const toO = down(O.port);
    expect(trucoT.length).toBeGreaterThan(2);
    const latest = trucoT.at(-1)!;
    const tSid = sidOf(latest);
    const oSid = sidOf(toO.at(-1)!);
    const counter = latest.readBigUInt64BE(6);

    const { forged, kinds, add } = forgeries();
    add('replayed', [...toT, ...toT, ...toT]);
    add('byte flips', everyByteFlip(latest));
    add('another session', [...toO, ...toO.map((b) => withSid(b, tSid))]);
    // a KICK "logged in elsewhere", a roster page and a truco under made-up keys
    const kick = Uint8Array.of(1);
    add('forged KICK / ROSTER_PAGE / TRUCO', [
      ...Array.from({ length: 100 }, (_, i) => forgeSession(Type.KICK, tSid, counter + 1n + BigInt(i), kick)),
      ...Array.from({ length: 100 }, (_, i) => forgeSession(Type.ROSTER_PAGE, tSid, counter + 200n + BigInt(i), randomBytes(80))),
      ...Array.from({ length: 100 }, (_, i) => forgeSession(Type.TRUCO, tSid, counter + 400n + BigInt(i), latest.subarray(14, 33))),
    ]);
    add('old counters', Array.from({ length: 200 }, (_, i) => withCounter(latest, BigInt(i))));
    // STALEs naming T's own session and others, with made-up reset tokens (§2.6)
    const stale = (sid: number) => Buffer.from(encodeStale(sid, randomBytes(16)));
    add('forged STALE', [...Array.from({ length: 100 }, () => stale(tSid)), ...Array.from({ length: 100 }, (_, i) => stale((oSid + i + 1) >>> 0))]);
    // HOLDs asking T to wait 30 s, with made-up hold tokens (§2.7): believed, they would stop
    // T's watchdog, and the kill below would be noticed 30 s late
    const hold = (sid: number) => Buffer.from(encodeHold(sid, randomBytes(16), 30_000));
    add('forged HOLD', [...Array.from({ length: 100 }, () => hold(tSid)), ...Array.from({ length: 100 }, (_, i) => hold((oSid + i + 1) >>> 0))]);
    expect(forged.length).toBeGreaterThanOrEqual(10_000);
    const file = join(dir, 'forged-client.bin');
    writeFileSync(file, packDatagrams(forged));

    const attacker = startAgent(ns, 'attacker.ts', [String(sp), '127.0.0.1', String(T.port), file, '5000']);
    await sleep(1500);
    const rosterBefore = [...T.roster].sort();
    const st0 = await farmB.stats();
    const d0 = clientDropped((st0.clients as Record<string, { dropped: unknown }>).T?.dropped);
    const udp0 = await ns.udpCounters();
    const killT = Date.now();
    await server.kill('SIGKILL');
    const done = await attacker.waitFor((e) => e.ev === 'done', 30_000);
    const st1 = await farmB.stats();
    const d1 = clientDropped((st1.clients as Record<string, { dropped: unknown }>).T?.dropped);
    const udp1 = await ns.udpCounters();
    const kernelDrops = (udp1.RcvbufErrors ?? 0) - (udp0.RcvbufErrors ?? 0);
    const noticed = T.states.find((s) => s.t >= killT && s.state === 'reconnecting');
    const noticedMs = noticed ? noticed.t - killT : NaN;
    const accepted = Number(done.sent) - (d1 - d0) - kernelDrops;

    // the server comes back on the same port: the client resumes, unharmed
    await attacker.kill();
    server = await startServerIn(ns, { dir: server.dir, port: sp });
    // T can be back before startServerIn resolves (its HELLO retransmission meets the new server
    // while we still wait for the server's start-up line)
    await until(() => backOnlineAt(T, killT) !== undefined, 15_000, 'T back online');
    record('forgeries → client', [
      ['datagrams (replayed / flipped / other session / KICK+PAGE+TRUCO / old counter / STALE / HOLD)', `${forged.length} (${Object.values(kinds).join(' / ')})`, '≥ 10000'],
      ['refused and counted by the client', d1 - d0],
      ['accepted', accepted, '0'],
      ['server SIGKILL noticed by the client after ms', noticedMs, '4000–5300 (misses + 2 intervals)'],
    ]);
    expect(done.sent).toBe(forged.length);
    expect(kernelDrops).toBe(0);
    expect(accepted).toBe(0);
    expect(noticed?.cause).toBe('silence');
    // the watchdog: (misses + 2) intervals after the last TRUCO, which came ≤ 1 interval before the kill
    expect(noticedMs).toBeGreaterThanOrEqual(4000);
    expect(noticedMs).toBeLessThanOrEqual(5300);
    expect(T.states.filter((s) => s.t >= killT && (s.state === 'kicked' || s.state === 'signedOut'))).toEqual([]);
    expect(rosterBefore).toEqual([O.email, T.email, W.email].sort());
    await until(() => [W, O, T].every((c) => c.state === 'online' && c.roster.size === 3), 15_000, 'all back with full rosters');
  });
});

describe('chat claiming another sender', () => {
  it('forged, replayed and byte-flipped chat from a SIGKILLed peer\'s own address: nothing shown, and the peer\'s crash is noticed on schedule', async () => {
    // fresh chat to capture: W → T (a 3 KB message among them) and O → T, T → W
    const t0 = Date.now();
    farmW.send({ cmd: 'open', id: 'W', peer: T.email });
    for (let i = 0; i < 5; i++) farmW.send({ cmd: 'send', id: 'W', peer: T.email, text: i === 2 ? `W long ${'w'.repeat(3000)}` : `W says ${i}` });
    for (let i = 0; i < 3; i++) farmB.send({ cmd: 'send', id: 'O', peer: T.email, text: `O says ${i}` });
    for (let i = 0; i < 2; i++) farmB.send({ cmd: 'send', id: 'T', peer: W.email, text: `T says ${i}` });
    const inboundT = () => farmB.events.filter((e) => e.ev === 'line' && e.id === 'T' && e.dir === 'in');
    await until(() => inboundT().filter((e) => e.t >= t0).length >= 8, 15_000, 'T got the eight messages');
    await sleep(500);
    const cap = readPcap(capture.file).filter((d) => d.t >= t0 - 50);
    const peerType = (b: Buffer) => b[1] === Type.CHAT || b[1] === Type.ACK || b[1] === Type.BUNDLE;
    const wToT = cap.filter((d) => d.src === W.port && d.dst === T.port && peerType(d.payload)).map((d) => d.payload);
    const oToT = cap.filter((d) => d.src === O.port && d.dst === T.port && peerType(d.payload)).map((d) => d.payload);
    // chat from W: CHATs, or BUNDLEs of what W sent in one turn (the long message's full fragments always go alone)
    const chatW = wToT.filter((b) => b[1] === Type.CHAT || b[1] === Type.BUNDLE);
    expect(chatW.length).toBeGreaterThanOrEqual(3);
    // O's three messages may travel in one BUNDLE
    expect(oToT.length).toBeGreaterThanOrEqual(1);
    const wKeyId = chatW[0]!.subarray(2, 10);
    const latest = chatW.at(-1)!;
    const counter = latest.readBigUInt64BE(10);
    const withKeyId = (b: Buffer, id: Uint8Array) => {
      const c = Buffer.from(b);
      c.set(id, 2);
      return c;
    };
    const forgeChat = (i: number) => {
      const header = Buffer.alloc(18);
      header[0] = 1;
      header[1] = Type.CHAT;
      header.set(wKeyId, 2);
      header.writeBigUInt64BE(counter + 1n + BigInt(i), 10);
      return Buffer.concat([header, seal(randomBytes(32), Number(counter) + 1 + i, header, randomBytes(40))]);
    };
    const { forged, kinds, add } = forgeries();
    add('replayed', [...wToT, ...wToT, ...wToT]);
    add('byte flips', everyByteFlip(chatW.find((b) => b.length < 100) ?? latest));
    add("O's chat re-labelled as W's", oToT.map((b) => withKeyId(b, wKeyId)));
    add("O's chat from W's address", oToT);
    add('sealed under made-up keys', Array.from({ length: 300 }, (_, i) => forgeChat(i)));
    expect(forged.length).toBeGreaterThanOrEqual(10_000);
    const file = join(dir, 'forged-chat.bin');
    writeFileSync(file, packDatagrams(forged));

    const attacker = startAgent(ns, 'attacker.ts', [String(W.port), '127.0.0.1', String(T.port), file, '5000']);
    await sleep(1500);
    const st0 = await farmB.stats();
    const d0 = clientDropped((st0.clients as Record<string, { dropped: unknown }>).T?.dropped);
    const udp0 = await ns.udpCounters();
    const linesBefore = inboundT().length;
    const killT = Date.now();
    await farmW.kill('SIGKILL');
    const done = await attacker.waitFor((e) => e.ev === 'done', 30_000);
    const st1 = await farmB.stats();
    const d1 = clientDropped((st1.clients as Record<string, { dropped: unknown }>).T?.dropped);
    const udp1 = await ns.udpCounters();
    await until(() => !T.roster.has(W.email), 10_000, 'W gone from T\'s roster');
    const goneMs = Math.max(...farmB.events.filter((e) => e.ev === 'roster' && e.id === 'T' && (e.remove as string[]).includes(W.email) && e.t >= killT).map((e) => e.t)) - killT;
    const disconnected = farmB.events.some((e) => e.ev === 'line' && e.id === 'T' && e.peer === W.email && e.kind === 'system' && e.event === 'disconnected' && e.t >= killT);
    const kernelDrops = (udp1.RcvbufErrors ?? 0) - (udp0.RcvbufErrors ?? 0);
    const accepted = Number(done.sent) - (d1 - d0) - kernelDrops;
    const shown = inboundT().length - linesBefore;
    record('forgeries → chat', [
      ['datagrams (replayed / flipped / re-labelled / re-routed / made-up key)', `${forged.length} (${Object.values(kinds).join(' / ')})`, '≥ 10000'],
      ['refused and counted by the client / accepted', `${d1 - d0} / ${accepted}`, '— / 0'],
      ['messages shown from the forgeries', shown, '0'],
      ['SIGKILLed peer gone from the roster after ms / "Disconnected" shown', `${goneMs} / ${disconnected}`, `≤ ${EVICT_BOUND_MS} / true`],
    ]);
    expect(done.sent).toBe(forged.length);
    expect(kernelDrops).toBe(0);
    expect(accepted).toBe(0);
    expect(shown).toBe(0);
    expect(goneMs).toBeLessThanOrEqual(EVICT_BOUND_MS);
    expect(disconnected).toBe(true);
  });
});

describe('fuzzing the receive paths with mutated real captures (fast-check seeds + own mutator)', () => {
  it(`${FUZZ_COUNT} datagrams into the server and ${FUZZ_COUNT} into a client: no crash, no state change, memory bounded, probes on schedule`, async () => {
    // a client behind a relay, so fuzz reaches it from its server's address
    const target = startAgent(ns, 'fuzz-target.ts', [server.host, String(server.port), join(dir, 'fuzz-target'), 'fuzzed@hostile.test', PASSWORD], ['--expose-gc']);
    const ready = await target.waitFor((e) => e.ev === 'ready');
    await target.waitFor((e) => e.ev === 'state' && e.state === 'online', 30_000);
    await sleep(3500);
    await capture.stop();
    const all = readPcap(capture.file);
    const seedsServer = [...genuine, ...all.filter((d) => d.dst === server.port && d.t > Date.now() - 4000)].filter((d) => d.dst === server.port).map((d) => d.payload);
    const toTarget = all.filter((d) => d.dst === Number(ready.client)).map((d) => d.payload);
    const peerDatagrams = all.filter((d) => d.payload[1] === Type.CHAT || d.payload[1] === Type.ACK || d.payload[1] === Type.BUNDLE).slice(0, 200).map((d) => d.payload);
    const seedsClient = [...genuine.filter((d) => d.src === server.port).map((d) => d.payload), ...toTarget, ...peerDatagrams];
    const recentSids = [...new Set(all.filter((d) => d.t > Date.now() - 4000 && isSession(d.payload)).map((d) => sidOf(d.payload)))];
    expect(toTarget.length).toBeGreaterThan(2);
    const before0 = await target.ask({ cmd: 'stats' }, 'stats');
    const targetSid = Number(before0.sid);
    writeFileSync(join(dir, 'seeds-server.bin'), packDatagrams(seedsServer));
    writeFileSync(join(dir, 'seeds-client.bin'), packDatagrams(seedsClient));
    const accounts = () => {
      const db = new Database(server.db, { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM accounts').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };

    // ---- the server ----
    const accounts0 = accounts();
    const rosters0 = [O, T].map((c) => [...c.roster].sort().join());
    await farmB.stats(); // resets the TRUCO gap window
    const rss0 = server.memory().rssKb;
    let rssMax = rss0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, server.memory().rssKb)), 200);
    // the probe schedule as the kernel saw the server send it (a capture filtered to server → O)
    const probes = await startCapture(ns, join(dir, 'probes.pcap'), `udp and src port ${server.port} and dst port ${O.port}`);
    const su0 = await ns.udpCounters();
    const t0 = Date.now();
    const fz = startAgent(ns, 'fuzzer.ts', [server.host, String(server.port), String(FUZZ_COUNT), String(FUZZ_RATE), '7', join(dir, 'seeds-server.bin'), '64', recentSids.join(',')]);
    const fdone = await fz.waitFor((e) => e.ev === 'done', FUZZ_COUNT / 1000 * 1000 + 60_000);
    clearInterval(sampler);
    const t1 = Date.now();
    await probes.stop();
    const serverKernelDrops = ((await ns.udpCounters()).RcvbufErrors ?? 0) - (su0.RcvbufErrors ?? 0);
    const sentAt = readPcap(probes.file).filter((d) => d.payload[1] === Type.TRUCO).map((d) => d.t);
    const sendGaps = sentAt.slice(1).map((t, i) => t - sentAt[i]!);
    const drift = Math.max(...sendGaps.map((g) => Math.abs(g - 1000)));
    const gapsB = (await farmB.stats()).clients as Record<string, { maxGap: number; minGap: number; trucos: number; state: string }>;
    const seenDrift = Math.max(...Object.values(gapsB).map((g) => Math.max(Math.abs(g.maxGap - 1000), Math.abs(g.minGap - 1000))));
    const stats0 = [...server.events].reverse().find((e) => e.event === 'server.stats' && e.t <= t0);
    const stats1 = await nextStats(server, t1);
    const notStale = (k: string) => k !== 'stale.budget'; // a STALE answer withheld, not a datagram
    const refusedFuzz = sumWhere(stats1, notStale) - (stats0 ? sumWhere(stats0, notStale) : 0);
    const during = server.events.filter((e) => e.t >= t0 && e.t <= t1 + 500);
    const stateEvents = during.filter((e) => ['session.opened', 'session.closed', 'session.moved', 'user.left', 'account.created', 'liveness.suspect', 'session.replaced'].includes(e.event));
    const errors = during.filter((e) => e.level === 'error');
    const serverGrowthMb = (rssMax - rss0) / 1024;

    // ---- the client ----
    const c0 = await target.ask({ cmd: 'stats' }, 'stats');
    const cu0 = await ns.udpCounters();
    const tc0 = Date.now();
    const fzc = startAgent(ns, 'fuzzer.ts', ['127.0.0.1', String(ready.inject), String(FUZZ_COUNT), String(FUZZ_CLIENT_RATE), '11', join(dir, 'seeds-client.bin'), '1', String(targetSid)]);
    const cdone = await fzc.waitFor((e) => e.ev === 'done', (FUZZ_COUNT / FUZZ_CLIENT_RATE) * 1000 + 60_000);
    await sleep(300);
    const c1 = await target.ask({ cmd: 'stats' }, 'stats');
    const cu1 = await ns.udpCounters();
    const tc1 = Date.now();
    const clientRefused = clientDropped(c1.dropped) - clientDropped(c0.dropped);
    const injected = Number(c1.injected) - Number(c0.injected);
    // datagrams the kernel dropped on the way (relay's or client's socket buffer full)
    const clientKernelDrops = (cu1.RcvbufErrors ?? 0) - (cu0.RcvbufErrors ?? 0);
    const reached = Number(cdone.sent) - clientKernelDrops;
    const clientDrift = Math.max(Math.abs((c1.gaps as { max: number }).max - 1000), Math.abs((c1.gaps as { min: number }).min - 1000));
    const clientHeapGrowthMb = (Number(c1.heap) - Number(c0.heap)) / 1048576;
    const targetStates = target.events.filter((e) => e.ev === 'state' && e.t >= tc0 && e.t <= tc1);

    record('fuzzing → server', [
      ['datagrams (mutated captures + fast-check + random)', `${fdone.sent} at ${Math.round(Number(fdone.sent) / (Number(fdone.ms) / 1000))}/s`, FULL ? '1000000' : '100000 (CI)'],
      ['refused and counted / answered statelessly (HELLO, KEY_REQ) / dropped by the kernel', `${refusedFuzz} / ${fdone.stateless} / ${serverKernelDrops}`, `${FUZZ_COUNT} in all`],
      ['state changes / error logs', `${stateEvents.length} / ${errors.length}`, '0 / 0'],
      ['RSS before → peak MB', `${(rss0 / 1024).toFixed(0)} → ${(rssMax / 1024).toFixed(0)}`, 'growth < 64 MB'],
      ['probe drift: as sent (capture) / as received by clients ms', `${drift.toFixed(1)} / ${seenDrift.toFixed(1)} (${sendGaps.length} probes)`, '< 100 / —'],
    ]);
    record('fuzzing → client', [
      ['datagrams from the server\'s address', `${cdone.sent}`, FULL ? '1000000' : '100000 (CI)'],
      ['reached the client (sent − kernel drops) / refused and counted', `${reached} / ${clientRefused}`, 'equal'],
      ['session state changes', targetStates.length, '0'],
      ['heap growth after GC MB', clientHeapGrowthMb, '< 32'],
      ['probe drift ms', clientDrift, '< 100'],
    ]);
    expect(fdone.sent).toBe(FUZZ_COUNT);
    expect(stats0).toBeDefined();
    expect(refusedFuzz).toBeGreaterThanOrEqual(FUZZ_COUNT - Number(fdone.stateless) - serverKernelDrops);
    expect(refusedFuzz).toBeLessThanOrEqual(FUZZ_COUNT);
    expect(server.proc.exitCode).toBeNull();
    expect(stateEvents).toEqual([]);
    expect(errors).toEqual([]);
    expect(accounts()).toBe(accounts0);
    expect([O, T].map((c) => [...c.roster].sort().join())).toEqual(rosters0);
    expect([O, T].every((c) => c.state === 'online')).toBe(true);
    expect(Object.values(gapsB).every((g) => g.state === 'online' && g.trucos > 0)).toBe(true);
    expect(serverGrowthMb).toBeLessThan(64);
    expect(sendGaps.length).toBeGreaterThanOrEqual(Math.floor((t1 - t0) / 1000) - 2);
    expect(drift).toBeLessThan(100);

    expect(cdone.sent).toBe(FUZZ_COUNT);
    expect(target.events.some((e) => e.ev === 'uncaught')).toBe(false);
    expect(target.proc.exitCode).toBeNull();
    expect(injected).toBeGreaterThan(0);
    expect(clientKernelDrops).toBeLessThan(FUZZ_COUNT * 0.05);
    expect(clientRefused).toBe(reached);
    expect(targetStates).toEqual([]);
    expect(c1.state).toBe('online');
    expect(c1.sid).toBe(c0.sid);
    expect(c1.roster).toEqual(c0.roster);
    expect(clientHeapGrowthMb).toBeLessThan(32);
    expect(clientDrift).toBeLessThan(100);
    await target.ask({ cmd: 'exit' }, 'never', 3000).catch(() => undefined);
    await target.kill();
  });
});

describe('a flood of handshake starts', () => {
  it(`${FLOOD_COUNT} HELLOs from many source ports: memory bounded, nobody dropped, a new login still succeeds`, async () => {
    const rss0 = server.memory().rssKb;
    let rssMax = rss0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, server.memory().rssKb)), 200);
    await farmB.stats();
    const udp0 = await ns.udpCounters();
    // 512 source ports on 16 addresses (127.0.0.2–17: other machines as the server sees them)
    const flood = startAgent(ns, 'flooder.ts', [server.host, String(server.port), String(FLOOD_COUNT), '10000', '512', '500', '16']);
    await flood.waitFor((e) => e.ev === 'ready', 60_000);
    const t0 = Date.now();
    await flood.waitFor((e) => e.ev === 'progress', 10_000);
    // a legitimate sign-up and login in the middle of the flood
    const farmN = await Farm.start(ns, server, join(dir, 'farmN'), 'farmN');
    const N = farmN.add('N', 'newcomer@hostile.test', PASSWORD, true);
    const loginT = Date.now();
    const done = await flood.waitFor((e) => e.ev === 'done', 120_000);
    await until(() => N.states.some((s) => s.state === 'online' || (s.state === 'signedOut' && s.error)), 30_000, 'the newcomer\'s attempt settles');
    clearInterval(sampler);
    const onlineAt = N.states.find((s) => s.state === 'online')?.t;
    const udp1 = await ns.udpCounters();
    const gaps = (await farmB.stats()).clients as Record<string, { maxGap: number; state: string }>;
    const evicted = server.events.filter((e) => e.t >= t0 && e.event === 'user.left' && [O, T, N].some((c) => c.email === e.email));
    const growthMb = (rssMax - rss0) / 1024;
    const shedIn = (e: LogEvent | undefined) => Number(((e?.dropped ?? {}) as Record<string, number>)['hello.shed'] ?? 0);
    const before = [...server.events].reverse().find((e) => e.event === 'server.stats' && e.t <= t0);
    const shed = shedIn(await nextStats(server, Date.now())) - shedIn(before);
    record('flood of HELLOs', [
      ['HELLOs sent / WELCOMEs answered', `${done.sent} / ${done.welcomes} in ${(Number(done.ms) / 1000).toFixed(1)} s`, `${FLOOD_COUNT}`],
      ['HELLOs shed by the server (admission under load)', shed],
      ['dropped by the kernel (socket buffer full)', (udp1.RcvbufErrors ?? 0) - (udp0.RcvbufErrors ?? 0)],
      ['server RSS before → peak MB', `${(rss0 / 1024).toFixed(0)} → ${(rssMax / 1024).toFixed(0)}`, 'growth < 64 MB'],
      ['legitimate sign-up + login during the flood', N.state === 'online' ? `online after ${onlineAt! - loginT} ms` : `failed: ${N.states.at(-1)?.state}`, 'succeeds'],
      ['online users dropped / worst probe gap ms', `${evicted.length} / ${Math.max(...Object.values(gaps).map((g) => g.maxGap)).toFixed(0)}`, '0 / —'],
    ]);
    expect(done.sent).toBe(FLOOD_COUNT);
    expect(Number(done.welcomes)).toBeGreaterThan(0);
    expect(growthMb).toBeLessThan(64);
    expect(N.state).toBe('online');
    expect(evicted).toEqual([]);
    expect(Object.values(gaps).every((g) => g.state === 'online')).toBe(true);
    await farmN.kill();
  });
});
