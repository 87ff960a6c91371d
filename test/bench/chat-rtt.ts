/**
 * Round-trip time of an acknowledged 100-byte chat message on loopback, against a raw
 * `node:dgram` ping-pong of the same size measured in the same run (BRIEF §4: benchmarks print
 * figures and ratios, they are not timed tests).
 *
 *   node --import tsx test/bench/chat-rtt.ts [--n 1000] [--json] [--no-client]
 *
 * 1. raw:    one socket sends 100 bytes, the other echoes them; time to the echo.
 * 2. engine: two PeerHubs on two real UDP sockets (static rosters): send() → ACK received, i.e.
 *            framing, AEAD both ways, delivery engine, UDP, reassembly, ACK.
 * 3. client: the real server process and two headless clients, as a user would: client.send()
 *            → the line turns 'delivered' in the sender's conversation (adds the XState
 *            conversation and delivery actors on both sides).
 * Every variant runs sequentially (one message in flight), in one process, after a warm-up.
 */
import dgram from 'node:dgram';
import { generateKeyPair } from '../../runtime/crypto/keys.ts';
import { createChatClient, type ChatClient } from '../../runtime/client.ts';
import { realClock } from '../../runtime/peer/clock.ts';
import { PeerHub } from '../../runtime/peer/hub.ts';
import { newMessageId } from '../../runtime/peer/text.ts';
import { bindUdp } from '../../runtime/udp.ts';
import { decodeOuter } from '../../runtime/wire/outer.ts';
import type { Member } from '../../runtime/wire/types.ts';
import { startServer, tempDir } from '../support/server.ts';

const args = process.argv.slice(2);
const N = Number(args[args.indexOf('--n') + 1]) > 0 && args.includes('--n') ? Number(args[args.indexOf('--n') + 1]) : 1000;
const JSON_OUT = args.includes('--json');
const WITH_CLIENT = !args.includes('--no-client');
const WARMUP = 200;
const TEXT = 'x'.repeat(100);

interface Stats {
  n: number;
  medianUs: number;
  p90Us: number;
  p99Us: number;
  minUs: number;
}

function stats(samplesMs: number[]): Stats {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN) * 1000;
  return { n: s.length, medianUs: at(0.5), p90Us: at(0.9), p99Us: at(0.99), minUs: (s[0] ?? NaN) * 1000 };
}

async function raw(): Promise<Stats> {
  const ping = dgram.createSocket('udp4');
  const pong = dgram.createSocket('udp4');
  await Promise.all([ping, pong].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
  pong.on('message', (msg, rinfo) => pong.send(msg, rinfo.port, rinfo.address));
  const payload = Buffer.alloc(100, 0x61);
  const one = () =>
    new Promise<number>((resolve) => {
      const t0 = performance.now();
      ping.once('message', () => resolve(performance.now() - t0));
      ping.send(payload, pong.address().port, '127.0.0.1');
    });
  for (let i = 0; i < WARMUP; i++) await one();
  const samples: number[] = [];
  for (let i = 0; i < N; i++) samples.push(await one());
  ping.close();
  pong.close();
  return stats(samples);
}

async function engine(): Promise<Stats> {
  const [ua, ub] = await Promise.all([bindUdp({ host: '127.0.0.1', port: 0 }), bindUdp({ host: '127.0.0.1', port: 0 })]);
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  const roster: ReadonlyMap<string, Member> = new Map([
    ['a@bench', { email: 'a@bench', address: ua.address, peerKey: ka.publicKey }],
    ['b@bench', { email: 'b@bench', address: ub.address, peerKey: kb.publicKey }],
  ]);
  let onAck: (() => void) | null = null;
  let received = 0;
  const hubA = new PeerHub({
    clock: realClock,
    send: (bytes, to) => ua.send(bytes, to),
    members: () => roster,
    drop: (why) => console.error('a dropped', why),
    events: { received: () => {}, acked: () => onAck?.(), failed: () => console.error('a: message failed') },
  });
  const hubB = new PeerHub({
    clock: realClock,
    send: (bytes, to) => ub.send(bytes, to),
    members: () => roster,
    drop: (why) => console.error('b dropped', why),
    events: { received: () => received++, acked: () => {}, failed: () => {} },
  });
  hubA.start(ka, 'a@bench');
  hubB.start(kb, 'b@bench');
  for (const [u, hub] of [
    [ua, hubA],
    [ub, hubB],
  ] as const) {
    u.onMessage((bytes, from) => {
      const d = decodeOuter(bytes);
      if (d.isOk() && d.value.type === 'PEER') hub.receive(d.value, from);
    });
  }
  const one = () =>
    new Promise<number>((resolve) => {
      const t0 = performance.now();
      onAck = () => resolve(performance.now() - t0);
      hubA.send('b@bench', newMessageId(), TEXT);
    });
  for (let i = 0; i < WARMUP; i++) await one();
  const samples: number[] = [];
  for (let i = 0; i < N; i++) samples.push(await one());
  const rto = hubA.channelStats('b@bench');
  if (received !== WARMUP + N) throw new Error(`engine: ${received} received`);
  if (!JSON_OUT) console.log(`  engine: srtt ${rto?.srtt?.toFixed(3)} ms, rto ${rto?.rto} ms, retransmits ${rto?.stats.retransmits}`);
  hubA.stop();
  hubB.stop();
  await Promise.all([ua.close(), ub.close()]);
  return stats(samples);
}

async function client(): Promise<Stats> {
  const server = await startServer({ interval: 1000 });
  const make = () => createChatClient({ server: { host: server.host, port: server.port }, dataDir: tempDir('truco-bench-') });
  const [a, b]: ChatClient[] = await Promise.all([make(), make()]);
  try {
    a!.signUp('a@bench.test', 'bench password');
    b!.signUp('b@bench.test', 'bench password');
    await a!.waitFor((s) => s.matches('online') && s.context.roster.members.has('b@bench.test'));
    await b!.waitFor((s) => s.matches('online') && s.context.roster.members.has('a@bench.test'));
    let waiting: { id: string; resolve: () => void } | null = null;
    a!.subscribeConversations((all) => {
      const w = waiting;
      if (!w) return;
      const lines = all.get('b@bench.test')?.lines ?? [];
      const last = lines[lines.length - 1];
      if (last && last.id === w.id && last.kind === 'message' && last.state === 'delivered') w.resolve();
    });
    const one = () =>
      new Promise<number>((resolve, reject) => {
        const t0 = performance.now();
        const r = a!.send('b@bench.test', TEXT);
        if (r.isErr()) return reject(new Error(r.error.reason));
        waiting = { id: r.value, resolve: () => resolve(performance.now() - t0) };
      });
    for (let i = 0; i < WARMUP; i++) await one();
    const samples: number[] = [];
    for (let i = 0; i < N; i++) samples.push(await one());
    return stats(samples);
  } finally {
    await Promise.all([a!.stop(), b!.stop()]);
    await server.kill();
  }
}

const results: Record<string, Stats> = {};
results.raw = await raw();
results.engine = await engine();
if (WITH_CLIENT) results.client = await client();
const base = results.raw.medianUs;
if (JSON_OUT) {
  console.log(JSON.stringify({ n: N, payloadBytes: 100, results, ratioToRaw: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.medianUs / base])) }));
} else {
  console.log(`acknowledged 100-byte chat message on loopback, ${N} sequential round trips each (after ${WARMUP} warm-up)`);
  for (const [k, v] of Object.entries(results)) {
    console.log(
      `  ${k.padEnd(7)} median ${v.medianUs.toFixed(0).padStart(5)} µs  p90 ${v.p90Us.toFixed(0).padStart(5)} µs  p99 ${v.p99Us.toFixed(0).padStart(5)} µs  min ${v.minUs.toFixed(0).padStart(4)} µs  ×${(v.medianUs / base).toFixed(1)} raw`,
    );
  }
}
process.exit(0);
