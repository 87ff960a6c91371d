/**
 * A storm of sign-ups: COUNT accounts `PREFIX<i>@storm.test`, WORKERS at a time, each over its
 * own socket with the real client handshake (runtime/handshake.ts). Every acknowledged sign-up
 * is printed the moment its AUTH_RESULT arrives: {"ev":"ack","email"}; other answers as
 * {"ev":"answer","email","status"}; failures as {"ev":"fail","email","error"}.
 *   node --import tsx storm.ts HOST PORT COUNT WORKERS PREFIX
 */
import { HandshakeDesk } from '../../../runtime/handshake.ts';
import { bindUdp, sameAddress, toAddress } from '../../../runtime/udp.ts';
import { decodeOuter } from '../../../runtime/wire/outer.ts';

const [host = '127.0.0.1', port = '0', count = '1000', workers = '100', prefix = 's'] = process.argv.slice(2);
const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\n');
const server = toAddress(host, Number(port));
const PASSWORD = 'storm password 1234';

async function desk(): Promise<HandshakeDesk> {
  const udp = await bindUdp({ host: '127.0.0.1', port: 0 });
  const d = new HandshakeDesk(udp, server);
  udp.onMessage((bytes, from) => {
    if (!sameAddress(from, server)) return;
    const m = decodeOuter(bytes);
    if (m.isOk()) d.deliver(m.value);
  });
  return d;
}

const first = await desk();
const key = await first.fetchKey();
if (key.isErr()) {
  out({ ev: 'fatal', error: 'no server key' });
  process.exit(1);
}
out({ ev: 'ready' });

let next = 0;
const total = Number(count);
async function worker(): Promise<void> {
  const d = await desk();
  for (;;) {
    const i = next++;
    if (i >= total) return;
    const email = `${prefix}${i}@storm.test`;
    const r = await d.authenticate(key._unsafeUnwrap(), { kind: 'signup', email, password: PASSWORD });
    if (r.isErr()) out({ ev: 'fail', email, error: r.error.type });
    else if (r.value.result.status === 'signed_up') out({ ev: 'ack', email });
    else out({ ev: 'answer', email, status: r.value.result.status });
  }
}
await Promise.all(Array.from({ length: Number(workers) }, worker));
out({ ev: 'done' });
process.exit(0);
