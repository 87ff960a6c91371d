/**
 * Sends COUNT mutated and random datagrams (test/faults/lib/mutator.ts over the captures in
 * SEEDS) to HOST:PORT at RATE per second from SOURCES sockets.
 *   node --import tsx fuzzer.ts HOST PORT COUNT RATE SEED SEEDS SOURCES [SIDS]
 * SIDS: comma-separated session ids to aim at (nothing is exempt: even a STALE naming one needs
 * the session's reset token, PROTOCOL.md §2.6).
 * Prints {"ev":"progress","sent"} every second and {"ev":"done","sent","stateless","ms"},
 * `stateless` counting the well-formed HELLO / KEY_REQ a server answers without keeping anything.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { decodeOuter } from '../../../runtime/wire/outer.ts';
import { createMutator, unpackDatagrams } from '../lib/mutator.ts';

const [host = '127.0.0.1', port = '0', count = '1000', rate = '10000', seed = '1', seeds = '', sources = '16', sidsArg = ''] = process.argv.slice(2);
const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\n');
const parseSids = (s: string) => s.split(',').filter(Boolean).map(Number);
const sids = parseSids(sidsArg);
const captures = seeds ? unpackDatagrams(readFileSync(seeds)) : [];
const mutator = createMutator(captures, { seed: Number(seed), sids });

const socks: dgram.Socket[] = [];
for (let i = 0; i < Number(sources); i++) {
  const s = dgram.createSocket('udp4');
  s.on('error', () => {});
  s.on('message', () => {});
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  socks.push(s);
}

const total = Number(count);
const perSec = Number(rate);
let sent = 0;
let stateless = 0;
const t0 = performance.now();
let lastReport = t0;
await new Promise<void>((resolve) => {
  const tick = () => {
    const now = performance.now();
    const due = Math.min(total, Math.ceil(((now - t0) / 1000) * perSec));
    while (sent < due) {
      const d = mutator.next();
      const o = decodeOuter(d);
      if (o.isOk() && (o.value.type === 'HELLO' || o.value.type === 'KEY_REQ')) stateless++;
      socks[sent % socks.length]!.send(d, Number(port), host);
      sent++;
    }
    if (now - lastReport >= 1000) {
      lastReport = now;
      out({ ev: 'progress', sent });
    }
    if (sent >= total) resolve();
    else setTimeout(tick, 2);
  };
  tick();
});
await new Promise((r) => setTimeout(r, 200));
out({ ev: 'done', sent, stateless, ms: Math.round(performance.now() - t0) });
for (const s of socks) s.close();
process.exit(0);
