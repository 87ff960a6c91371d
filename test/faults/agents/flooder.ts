/**
 * A flood of handshake starts: COUNT genuine HELLOs (Noise message 1 against the server's real
 * key, DISTINCT different ones) sent to HOST:PORT from SOURCES source ports, at RATE per second
 * (0 = as fast as the socket takes them), the sockets spread over IPS loopback addresses from
 * 127.0.0.2 on (other machines, as the server sees them). The server must keep no state for them.
 *   node --import tsx flooder.ts HOST PORT COUNT RATE SOURCES DISTINCT IPS
 * Prints {"ev":"ready"} when the HELLOs are built, {"ev":"progress","sent","welcomes"} every
 * second, and {"ev":"done","sent","welcomes","ms"}.
 */
import dgram from 'node:dgram';
import { initiate } from '../../../runtime/crypto/noise.ts';
import { decodeOuter, encodeHello, encodeKeyReq } from '../../../runtime/wire/outer.ts';

const [host = '127.0.0.1', port = '0', count = '1000', rate = '0', sources = '64', distinct = '500', ips = '1'] = process.argv.slice(2);
const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\n');

let welcomes = 0;
const socks: dgram.Socket[] = [];
for (let i = 0; i < Number(sources); i++) {
  const s = dgram.createSocket('udp4');
  s.on('error', () => {});
  await new Promise<void>((r) => s.bind(0, `127.0.0.${2 + (i % Number(ips))}`, () => r()));
  socks.push(s);
}

// the server's key, as any client learns it
const key = await new Promise<Uint8Array>((resolve) => {
  const s = socks[0]!;
  const ask = setInterval(() => s.send(encodeKeyReq(), Number(port), host), 200);
  s.once('message', (m) => {
    const d = decodeOuter(m);
    if (d.isOk() && d.value.type === 'KEY') {
      clearInterval(ask);
      resolve(d.value.key);
    }
  });
  s.send(encodeKeyReq(), Number(port), host);
});
for (const s of socks) s.on('message', () => welcomes++);

const hellos: Uint8Array[] = [];
for (let i = 0; i < Number(distinct); i++) {
  const m = initiate(key);
  if (m.isErr()) throw new Error('bad server key');
  hellos.push(encodeHello(m.value.message)._unsafeUnwrap());
}
out({ ev: 'ready' });

const total = Number(count);
const perSec = Number(rate);
let sent = 0;
const t0 = performance.now();
let lastReport = t0;
await new Promise<void>((resolve) => {
  const tick = () => {
    const now = performance.now();
    const due = perSec > 0 ? Math.min(total, Math.ceil(((now - t0) / 1000) * perSec)) : Math.min(total, sent + 2000);
    while (sent < due) {
      socks[sent % socks.length]!.send(hellos[sent % hellos.length]!, Number(port), host);
      sent++;
    }
    if (now - lastReport >= 1000) {
      lastReport = now;
      out({ ev: 'progress', sent, welcomes });
    }
    if (sent >= total) resolve();
    else setTimeout(tick, perSec > 0 ? 2 : 1);
  };
  tick();
});
await new Promise((r) => setTimeout(r, 500));
out({ ev: 'done', sent, welcomes, ms: Math.round(performance.now() - t0) });
for (const s of socks) s.close();
process.exit(0);
