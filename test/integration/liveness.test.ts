import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Type } from '../../runtime/wire/constants.ts';
import { spawnClient, type ClientProc } from '../support/client-proc-driver.ts';
import { ClientPool, inRoster, signUpOnline } from '../support/clients.ts';
import { startProxy, type Proxy } from '../support/proxy.ts';
import { startServer, tempDir, type ServerProc } from '../support/server.ts';

// Fast settings so the suite stays quick; the rule is the same at the defaults.
const INTERVAL = 250;
const MISSES = 3;
const SUSPECT_PROBES = 10;
const SUSPECT_INTERVAL = 40;
const SUSPICION = SUSPECT_PROBES * SUSPECT_INTERVAL;
/** interval × misses + suspicion time + one interval */
const BOUND = INTERVAL * MISSES + SUSPICION + INTERVAL;
/** scheduling slack on a loaded 2-core machine */
const SLACK = 300;

let server: ServerProc;
let proxy: Proxy;
const pool = new ClientPool(() => server);
const procs: ClientProc[] = [];

beforeAll(async () => {
  server = await startServer({ interval: INTERVAL, misses: MISSES, suspectProbes: SUSPECT_PROBES, suspectInterval: SUSPECT_INTERVAL });
  proxy = await startProxy(server.host, server.port);
});
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await pool.closeAll();
  await proxy.close();
  await server.kill();
});

async function procOnline(email: string, port = server.port): Promise<ClientProc> {
  const p = await spawnClient(server.host, port, tempDir('truco-proc-'));
  procs.push(p);
  p.send({ cmd: 'signup', email, password: 'proc password' });
  await p.waitFor((v) => v.state === 'online');
  return p;
}

async function timeUntil(pred: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (!pred()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - t0;
}

describe('liveness: truco / seis over real UDP', () => {
  it('a client that stops answering (SIGSTOP) leaves the others\' rosters within the bound, and no sooner than misses × interval', async () => {
    const watcher = await pool.make();
    await signUpOnline(watcher, 'watcher@example.com');
    const silent = await procOnline('silent@example.com');
    await watcher.waitFor(() => inRoster(watcher, 'silent@example.com'));
    silent.proc.kill('SIGSTOP');
    const took = await timeUntil(() => !inRoster(watcher, 'silent@example.com'), BOUND + 5000);
    silent.proc.kill('SIGCONT');
    console.log(`silent client left the roster after ${took.toFixed(0)} ms (bound ${BOUND} ms)`);
    expect(took).toBeGreaterThanOrEqual(INTERVAL * (MISSES - 1) + SUSPICION);
    expect(took).toBeLessThanOrEqual(BOUND + SLACK);
    // The woken client was dropped while it ran: it resumes with its ticket, never kicked.
    const back = await silent.waitFor((v) => v.state === 'online' && v.roster.includes('watcher@example.com'), 10_000);
    expect(back.kick).toBeNull();
    await watcher.waitFor(() => inRoster(watcher, 'silent@example.com'));
  });

  it('a graceful logout reaches the others within one interval', async () => {
    const watcher = await pool.make();
    await signUpOnline(watcher, 'watcher2@example.com');
    const leaver = await pool.make();
    await signUpOnline(leaver, 'leaver@example.com');
    await watcher.waitFor(() => inRoster(watcher, 'leaver@example.com'));
    leaver.logOut();
    const took = await timeUntil(() => !inRoster(watcher, 'leaver@example.com'), 5000);
    console.log(`logout reached the watcher after ${took.toFixed(0)} ms`);
    expect(took).toBeLessThanOrEqual(INTERVAL + SLACK);
    expect(leaver.getSnapshot().matches('signedOut')).toBe(true);
  });

  it('replayed and forged seis, from the silent user\'s own address and from another socket, do not keep it alive', async () => {
    const watcher = await pool.make();
    await signUpOnline(watcher, 'watcher3@example.com');
    // This client talks through the proxy, so the test holds its real datagrams.
    const victim = await procOnline('victim@example.com', proxy.port);
    await watcher.waitFor(() => inRoster(watcher, 'victim@example.com'));
    await new Promise((r) => setTimeout(r, INTERVAL * 3));
    const seis = proxy.captured.filter((c) => c.dir === 'up' && c.client === victim.port && c.bytes[1] === Type.SEIS);
    expect(seis.length).toBeGreaterThan(1);
    victim.proc.kill('SIGSTOP');
    const forged = Buffer.from(seis[seis.length - 1]!.bytes);
    // and the same from another socket, as a forger elsewhere on the LAN would
    const other = dgram.createSocket('udp4');
    await new Promise<void>((r) => other.bind(0, '127.0.0.1', () => r()));
    let n = 0;
    const flood = setInterval(() => {
      for (const c of seis) other.send(c.bytes, server.port, server.host);
      // replay every captured SEIS, and a forged one with a fresh counter and garbage tag
      for (const c of seis) proxy.replayUp(victim.port, c.bytes);
      forged.writeBigUInt64BE(BigInt(1_000_000 + n++), 6);
      forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 0xff;
      proxy.replayUp(victim.port, forged);
    }, INTERVAL / 5);
    try {
      const took = await timeUntil(() => !inRoster(watcher, 'victim@example.com'), BOUND + 5000);
      expect(took).toBeLessThanOrEqual(BOUND + SLACK);
    } finally {
      clearInterval(flood);
      other.close();
      victim.proc.kill('SIGCONT');
    }
  });
});
