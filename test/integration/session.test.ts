import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SessionSnapshot } from '../../runtime/client.ts';
import { Type } from '../../runtime/wire/constants.ts';
import { encodeKey } from '../../runtime/wire/key.ts';
import { encodeHold, encodeStale } from '../../runtime/wire/outer.ts';
import { ClientPool, inRoster, signUpOnline } from '../support/clients.ts';
import { startProxy } from '../support/proxy.ts';
import { startServer, tempDir, type ServerProc } from '../support/server.ts';

let server: ServerProc;
let pool: ClientPool;
const servers: ServerProc[] = [];

async function boot(args: Parameters<typeof startServer>[0] = {}): Promise<ServerProc> {
  server = await startServer({ interval: 200, ...args });
  servers.push(server);
  pool = new ClientPool(() => server);
  return server;
}

afterEach(async () => {
  await pool?.closeAll();
  for (const s of servers.splice(0)) await s.kill('SIGKILL');
});
afterAll(async () => {
  for (const s of servers) await s.kill('SIGKILL');
});

describe('client sessions over real UDP with the real server process', () => {
  it('two users sign up, log in and see each other online; the server key is pinned on first use', async () => {
    await boot();
    const a = await pool.make();
    const b = await pool.make();
    await signUpOnline(a, 'ana@example.com');
    expect(a.serverKeyInfo).toEqual({ fingerprint: server.fingerprint, status: 'pinned' });
    await signUpOnline(b, 'bia@example.com');
    await a.waitFor(() => inRoster(a, 'bia@example.com'));
    await b.waitFor(() => inRoster(b, 'ana@example.com'));
    const entry = a.getSnapshot().context.roster.members.get('bia@example.com');
    expect(entry?.address.port).toBe(b.address.port);
    expect(Buffer.from(entry!.peerKey).equals(Buffer.from(b.peerPublicKey!))).toBe(true);
  });

  it('logging in again from elsewhere kicks the older session with that reason', async () => {
    await boot();
    const first = await pool.make();
    await signUpOnline(first, 'eva@example.com', 'eva password');
    const second = await pool.make();
    second.logIn('eva@example.com', 'eva password');
    await second.waitFor((s) => s.matches('online'));
    const kicked = await first.waitFor((s) => s.matches('kicked'));
    expect(kicked.context.kickReason).toBe('elsewhere');
    // The newer session is the one that stays online and in the others' rosters.
    const other = await pool.make();
    await signUpOnline(other, 'other@example.com');
    await other.waitFor(() => inRoster(other, 'eva@example.com'));
    await new Promise((r) => setTimeout(r, 600));
    expect(second.getSnapshot().matches('online')).toBe(true);
    expect(first.getSnapshot().matches('kicked')).toBe(true);
  });

  it('a server restarted on the same database: clients reconnect with their tickets, never kicked', async () => {
    const dir = tempDir();
    const s1 = await boot({ dir });
    const a = await pool.make();
    const b = await pool.make();
    await signUpOnline(a, 'rita@example.com');
    await signUpOnline(b, 'raul@example.com');
    await a.waitFor(() => inRoster(a, 'raul@example.com'));
    const states: string[] = [];
    const track = (s: SessionSnapshot) => states.push(JSON.stringify(s.value));
    a.subscribe(track);
    b.subscribe(track);
    await s1.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const s2 = await startServer({ dir, port: s1.port, interval: 200 });
    servers.push(s2);
    expect(s2.fingerprint).toBe(s1.fingerprint);
    const epochBefore = a.getSnapshot().context.roster.epoch;
    // The restarted server takes up the online list it had (server/presence-journal.ts) and sends
    // each restored session a STALE, so each client resumes with its ticket at once (else its
    // watchdog would, after misses + 2 intervals); the rosters stay current, in the same epoch.
    // (At 200 ms intervals the watchdogs fire before the server is back; the HOLD is next.)
    await a.waitFor((s) => states.some((x) => x.includes('reconnecting')) && s.matches('online') && s.context.roster.members.has('raul@example.com'), 10_000);
    await b.waitFor((s) => s.matches('online') && s.context.roster.members.has('rita@example.com'), 10_000);
    expect(a.getSnapshot().context.roster.epoch).toBe(epochBefore);
    console.log(`both clients back online ${Date.now() - t0} ms after the restart`);
    expect(states.some((s) => s.includes('reconnecting'))).toBe(true);
    expect(states.some((s) => s.includes('kicked'))).toBe(false);
    expect(states.some((s) => s.includes('signedOut'))).toBe(false);
  });

  it('a server back before the watchdogs fire holds its restored clients (HOLD), then nudges each in turn', async () => {
    const dir = tempDir();
    const s1 = await boot({ dir, interval: 1000 });
    const a = await pool.make();
    const b = await pool.make();
    await signUpOnline(a, 'hana@example.com');
    await signUpOnline(b, 'hugo@example.com');
    await a.waitFor(() => inRoster(a, 'hugo@example.com'));
    const seen = new Map<string, string[]>();
    for (const c of [a, b]) {
      const mine: string[] = [];
      seen.set(c === a ? 'a' : 'b', mine);
      c.subscribe((s) => {
        const v = s.matches({ online: { link: 'held' } }) ? 'held' : s.matches('reconnecting') ? 'reconnecting' : s.matches('online') ? 'online' : String(s.value);
        if (mine.at(-1) !== v) mine.push(v);
      });
    }
    await s1.kill('SIGKILL');
    const t0 = Date.now();
    const s2 = await startServer({ dir, port: s1.port, interval: 1000 });
    servers.push(s2);
    for (const c of [a, b]) await c.waitFor((s) => s.matches({ online: { link: 'live' } }) && s.context.session !== null && seen.get(c === a ? 'a' : 'b')!.includes('reconnecting'), 10_000);
    const ms = Date.now() - t0;
    console.log(`both clients held, nudged and back ${ms} ms after the kill`);
    // each believed the HOLD (its token checked), waited, and resumed on its STALE: long before
    // its watchdog (5 s of silence) or its wait (2 s and more) would have made it
    expect(seen.get('a')).toEqual(['held', 'reconnecting', 'online']);
    expect(seen.get('b')).toEqual(['held', 'reconnecting', 'online']);
    expect(ms).toBeLessThan(5000);
  });

  it('a client resuming after a restart gets the changes made meanwhile as deltas, without paging the roster again', async () => {
    const dir = tempDir();
    const s1 = await boot({ dir });
    const proxy = await startProxy('127.0.0.1', s1.port);
    try {
      // rita talks to the server through a proxy that can cut her off
      const a = await pool.make({ port: proxy.port });
      const b = await pool.make();
      await signUpOnline(a, 'rita@example.com');
      await signUpOnline(b, 'raul@example.com');
      await a.waitFor(() => inRoster(a, 'raul@example.com'));
      const held = a.getSnapshot().context.roster.version;
      // the server restarts while rita cannot reach it; someone new joins before she is back
      proxy.filterUp = () => 'drop';
      await s1.kill('SIGKILL');
      const s2 = await startServer({ dir, port: s1.port, interval: 200 });
      servers.push(s2);
      await b.waitFor((s) => s.matches('online'), 10_000);
      const c = await pool.make();
      await signUpOnline(c, 'rosa@example.com');
      await b.waitFor(() => inRoster(b, 'rosa@example.com'), 10_000);
      const from = proxy.captured.length;
      proxy.filterUp = null;
      await a.waitFor((s) => s.matches('online') && s.context.roster.members.has('rosa@example.com') && s.context.roster.members.has('raul@example.com'), 15_000);
      expect(a.getSnapshot().context.roster.version).toBeGreaterThan(held);
      // her datagrams since she got through: a resume, SEIS answers, no ROSTER_REQ
      const up = proxy.captured.slice(from).filter((x) => x.dir === 'up');
      expect(up.length).toBeGreaterThan(0);
      expect(up.filter((x) => x.bytes[1] === Type.ROSTER_REQ)).toHaveLength(0);
    } finally {
      await proxy.close();
    }
  });

  it('a graceful server shutdown (SIGTERM) sends clients to reconnecting, and they come back', async () => {
    const dir = tempDir();
    const s1 = await boot({ dir });
    const a = await pool.make();
    await signUpOnline(a, 'tina@example.com');
    const code = await s1.kill('SIGTERM');
    expect(code).toBe(0);
    await a.waitFor((s) => s.matches('reconnecting'), 2000);
    const s2 = await startServer({ dir, port: s1.port, interval: 200 });
    servers.push(s2);
    const back = await a.waitFor((s) => s.matches('online'), 10_000);
    expect(back.context.kickReason).toBeNull();
  });

  it('refuses, with a clear reason, a server whose key changed since it was pinned', async () => {
    const s1 = await boot();
    const dataDir = tempDir('truco-client-');
    const a = await pool.make({ dataDir });
    await signUpOnline(a, 'pin@example.com');
    await a.stop();
    await s1.kill('SIGKILL');
    // A different server (new key) now answers at the same address.
    const s2 = await startServer({ port: s1.port, interval: 200 });
    servers.push(s2);
    expect(s2.fingerprint).not.toBe(s1.fingerprint);
    const b = await pool.make({ dataDir });
    b.logIn('pin@example.com', 'a good password');
    const s = await b.waitFor((s) => s.matches('signedOut') && s.context.error !== null, 20_000);
    expect(s.context.error?.reason).toBe('server_key_changed');
    expect(b.keyProblem).toEqual({ server: `127.0.0.1:${s1.port}`, expected: s1.fingerprint, got: s2.fingerprint });
  });

  it('a spoofed KEY from the server address while the handshake is slow changes nothing', async () => {
    await boot();
    const proxy = await startProxy(server.host, server.port);
    try {
      const dataDir = tempDir('truco-client-');
      const a = await pool.make({ dataDir, port: proxy.port });
      await signUpOnline(a, 'spoof@example.com');
      a.logOut();
      await a.waitFor((s) => s.matches('signedOut'));
      // The server's first HELLOs are lost for 1.5 s (longer than the 600 ms key check); a
      // spoofer answers every KEY_REQ at once with a key of its own, from the server's address.
      const start = Date.now();
      let forged = 0;
      proxy.filterUp = (bytes, clientPort) => {
        if (bytes[1] === Type.HELLO && Date.now() - start < 1500) return 'drop';
        if (bytes[1] === Type.KEY_REQ) {
          proxy.injectDown(clientPort, encodeKey(randomBytes(32)));
          forged++;
          return 'drop';
        }
        return 'pass';
      };
      a.logIn('spoof@example.com', 'a good password');
      const s = await a.waitFor((s) => s.matches('online') || (s.matches('signedOut') && s.context.error !== null), 15_000);
      expect(forged).toBeGreaterThan(0);
      expect(s.matches('online')).toBe(true);
      expect(a.keyProblem).toBeNull();
      expect(a.serverKeyInfo?.fingerprint).toBe(server.fingerprint);
    } finally {
      await proxy.close();
    }
  });

  it('a STALE naming the session but without its reset token is dropped; the client stays online', async () => {
    await boot();
    const proxy = await startProxy(server.host, server.port);
    try {
      const a = await pool.make({ port: proxy.port });
      await signUpOnline(a, 'stale@example.com');
      const sid = a.getSnapshot().context.session!.sid;
      const states: string[] = [];
      a.subscribe((s) => states.push(JSON.stringify(s.value)));
      for (let i = 0; i < 50; i++) proxy.injectDown(a.address.port, encodeStale(sid, randomBytes(16)));
      await a.waitFor(() => (a.stats.dropped['stale.forged'] ?? 0) >= 50, 3000);
      await new Promise((r) => setTimeout(r, 300));
      expect(states.some((x) => x.includes('reconnecting'))).toBe(false);
      expect(a.getSnapshot().matches('online')).toBe(true);
      expect(a.getSnapshot().context.session!.sid).toBe(sid);
    } finally {
      await proxy.close();
    }
  });

  it('a HOLD naming the session but without its token is dropped; the link stays live', async () => {
    await boot();
    const proxy = await startProxy(server.host, server.port);
    try {
      const a = await pool.make({ port: proxy.port });
      await signUpOnline(a, 'hold@example.com');
      const sid = a.getSnapshot().context.session!.sid;
      const states: string[] = [];
      a.subscribe((s) => states.push(JSON.stringify(s.value)));
      for (let i = 0; i < 50; i++) proxy.injectDown(a.address.port, encodeHold(sid, randomBytes(16), 30_000));
      await a.waitFor(() => (a.stats.dropped['hold.forged'] ?? 0) >= 50, 3000);
      expect(states.some((x) => x.includes('held'))).toBe(false);
      await new Promise((r) => setTimeout(r, 300));
      // still live: its watchdog and quiet link run as before (a believed HOLD would stop them)
      expect(a.getSnapshot().matches({ online: { link: 'live' } })).toBe(true);
      expect(a.getSnapshot().context.session!.sid).toBe(sid);
    } finally {
      await proxy.close();
    }
  });

  it('sign-ups are limited per source address (--signups-per-hour), with the wait in words', async () => {
    await boot({ extra: ['--signups-per-hour', '2'] });
    const a = await pool.make();
    await signUpOnline(a, 'one@example.com');
    const b = await pool.make();
    await signUpOnline(b, 'two@example.com');
    const c = await pool.make();
    c.signUp('three@example.com', 'a good password');
    const s = await c.waitFor((s) => s.matches('signedOut') && s.context.error !== null, 10_000);
    expect(s.context.error?.reason).toBe('rate_limited');
    expect(s.context.error?.retryAfterS).toBeGreaterThan(3000);
    // logging in is not a sign-up: still fine from the same address
    c.logIn('one@example.com', 'a good password');
    await c.waitFor((s) => s.matches('online'), 10_000);
  });

  it('a canary password never appears on the wire, in the database or in the logs', async () => {
    const dir = tempDir();
    await boot({ dir });
    const proxy = await startProxy(server.host, server.port);
    try {
      const canary = 'Canary-Pa55word-7f3a9c';
      const a = await pool.make({ port: proxy.port });
      a.signUp('canary@example.com', canary);
      await a.waitFor((s) => s.matches('online'));
      a.logOut();
      await a.waitFor((s) => s.matches('signedOut'));
      a.logIn('canary@example.com', canary);
      await a.waitFor((s) => s.matches('online'));
      a.logIn('canary@example.com', canary + 'x'); // ignored while online; nothing sent
      await new Promise((r) => setTimeout(r, 400));
      const needle = Buffer.from(canary, 'utf8');
      expect(proxy.captured.length).toBeGreaterThan(6);
      for (const c of proxy.captured) expect(c.bytes.includes(needle)).toBe(false);
      for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes(needle)).toBe(false);
      expect(server.logs().length).toBeGreaterThan(0);
      expect(server.logs().includes(canary)).toBe(false);
      expect(server.stdout().includes(canary)).toBe(false);
    } finally {
      await proxy.close();
    }
  });
});
