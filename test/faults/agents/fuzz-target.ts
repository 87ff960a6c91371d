/**
 * A real headless client behind a relay, so hostile datagrams can reach it from the address it
 * knows as its server: the client talks to FRONT, FRONT forwards to the real server through
 * UPLINK, and whatever arrives on INJECT is sent to the client from FRONT.
 *   node --expose-gc --import tsx fuzz-target.ts HOST PORT DATADIR EMAIL PASSWORD
 * Prints {"ev":"ready","inject","client","front"}, state events, and on {"cmd":"stats"}:
 * {"ev":"stats","state","sid","roster","dropped","injected","gaps":{…},"heap","rss"}.
 */
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { createChatClient } from '../../../runtime/client.ts';

const [host = '127.0.0.1', port = '0', dataDir = '.', email = '', password = ''] = process.argv.slice(2);
const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\n');
process.on('uncaughtException', (e) => {
  out({ ev: 'uncaught', error: String(e?.stack ?? e) });
  process.exit(70);
});

const bind = (): Promise<dgram.Socket> =>
  new Promise((res) => {
    const s = dgram.createSocket('udp4');
    s.on('error', () => {});
    s.bind(0, '127.0.0.1', () => res(s));
  });
const front = await bind();
const uplink = await bind();
const inject = await bind();
try {
  inject.setRecvBufferSize(8 << 20);
} catch {
  /* best effort */
}

let gaps: number[] = [];
let last = 0;
const client = await createChatClient({
  server: { host: '127.0.0.1', port: front.address().port },
  dataDir,
  inspect: (ev) => {
    if (ev.type === '@xstate.event' && ev.event.type === 'SERVER.TRUCO') {
      const now = performance.now();
      if (last) gaps.push(now - last);
      last = now;
    }
  },
});
const clientPort = client.address.port;
let injected = 0;
front.on('message', (m) => uplink.send(m, Number(port), host));
uplink.on('message', (m) => front.send(m, clientPort, '127.0.0.1'));
inject.on('message', (m) => {
  injected++;
  front.send(m, clientPort, '127.0.0.1');
});

let state = '';
client.subscribe((s) => {
  const st = typeof s.value === 'string' ? s.value : (Object.keys(s.value)[0] ?? '?');
  if (st !== state) {
    state = st;
    out({ ev: 'state', state: st, kick: s.context.kickReason, error: s.context.error?.reason ?? null });
  }
});

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.includes('"stats"')) {
    (globalThis as { gc?: () => void }).gc?.();
    const s = client.getSnapshot();
    const g = gaps;
    gaps = [];
    out({
      ev: 'stats',
      state,
      sid: s.context.session?.sid ?? null,
      roster: [...s.context.roster.members.keys()].sort(),
      rosterVersion: s.context.roster.version,
      dropped: client.stats.dropped,
      injected,
      received: client.udp.stats.received,
      gaps: { n: g.length, min: g.length ? Math.min(...g) : 0, max: g.length ? Math.max(...g) : 0 },
      heap: process.memoryUsage().heapUsed,
      rss: process.memoryUsage().rss,
    });
  } else if (line.includes('"exit"')) {
    void client.stop().then(() => process.exit(0));
  }
});
out({ ev: 'ready', inject: inject.address().port, client: clientPort, front: front.address().port, pid: process.pid });
client.signUp(email, password);
