/**
 * Sends a prepared list of datagrams from a chosen local port (typically the port a victim
 * just freed by dying, or the server's), spread evenly over a duration.
 *   node --import tsx attacker.ts BIND_PORT TARGET_HOST TARGET_PORT FILE DURATION_MS
 * FILE holds the datagrams as u16-big-endian length + bytes. Prints {"ev":"bound"} once the
 * port is ours and {"ev":"done","sent","errors","ms"} at the end.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

const [bindPort = '0', host = '127.0.0.1', port = '0', file = '', durationMs = '1000'] = process.argv.slice(2);
const raw = readFileSync(file);
const grams: Buffer[] = [];
for (let o = 0; o + 2 <= raw.length; ) {
  const n = raw.readUInt16BE(o);
  grams.push(raw.subarray(o + 2, o + 2 + n));
  o += 2 + n;
}
const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\n');

async function bind(): Promise<dgram.Socket> {
  const end = Date.now() + 60_000;
  for (;;) {
    const s = dgram.createSocket('udp4');
    try {
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.bind(Number(bindPort), '127.0.0.1', () => res());
      });
      return s;
    } catch (e) {
      s.close();
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const sock = await bind();
sock.on('error', () => {});
// answers (WELCOME, STALE, HELLOs of a reconnecting client, …) are read and ignored
sock.on('message', () => {});
out({ ev: 'bound', port: sock.address().port });
const t0 = performance.now();
const total = grams.length;
const dur = Math.max(1, Number(durationMs));
let sent = 0;
let errors = 0;
await new Promise<void>((resolve) => {
  const tick = () => {
    const due = Math.min(total, Math.ceil(((performance.now() - t0) / dur) * total));
    while (sent < due) {
      const g = grams[sent++]!;
      sock.send(g, Number(port), host, (e) => {
        if (e) errors++;
      });
    }
    if (sent >= total) resolve();
    else setTimeout(tick, 5);
  };
  tick();
});
await new Promise((r) => setTimeout(r, 100));
out({ ev: 'done', sent, errors, ms: Math.round(performance.now() - t0) });
sock.close();
process.exit(0);
