import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createWebSocketReceiver } from '@statelyai/inspect';
import { createActor, fromPromise, setup } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { createStatelyInspector, StatelyPortInUse, type StatelyInspector } from '../../runtime/inspector/stately.ts';
import { ROOT } from '../support/server.ts';
import { freePort, listeningOn, occupy } from './net.ts';

const CANARY = 'CANARY-stately-31337';

const login = setup({
  types: { events: {} as { type: 'LOGIN'; email: string; password: string }, context: {} as { key: Uint8Array; note: string } },
  actors: { logIn: fromPromise<boolean, { email: string; password: string }>(async () => true) },
}).createMachine({
  id: 'login',
  context: { key: new Uint8Array(32), note: 'visible' },
  initial: 'out',
  states: {
    out: { on: { LOGIN: 'auth' } },
    auth: {
      invoke: {
        src: 'logIn',
        input: ({ event }) => ({ email: (event as { email: string }).email, password: (event as { password: string }).password }),
        onDone: 'in',
      },
    },
    in: {},
  },
});

const running: StatelyInspector[] = [];
afterEach(async () => {
  for (const i of running.splice(0)) await i.stop();
});

/** Runs the fixture; resolves with its exit code and how long it lived after "stopped". */
function runChild(port: number, mode: 'relay' | 'unreachable'): Promise<{ code: number | null; afterStop: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/inspector/fixtures/stately-child.ts'), String(port), mode], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let stoppedAt = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!stoppedAt && /stopped \d+/.test(out)) stoppedAt = Date.now();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, afterStop: stoppedAt ? Date.now() - stoppedAt : -1, out, err });
    });
  });
}

describe("Stately's inspector (offline checks)", () => {
  it('binds its relay to 127.0.0.1 and sends only sanitized snapshots and events', async () => {
    const port = await freePort();
    const ins = await createStatelyInspector({ port });
    running.push(ins);
    expect(ins.url).toBe(`http://127.0.0.1:${port}/`);
    expect(listeningOn(port)).toEqual(['127.0.0.1']);
    // the relay's own page, served locally (it embeds Stately's hosted UI, which needs internet)
    const page = await (await fetch(ins.url)).text();
    expect(page).toContain(`ws://localhost:${port}`);

    const received: string[] = [];
    const rx = createWebSocketReceiver({ server: `ws://127.0.0.1:${port}` });
    rx.subscribe((m) => received.push(JSON.stringify(m)));
    await new Promise((r) => setTimeout(r, 200));
    const a = createActor(login, { inspect: ins.inspect });
    a.start();
    a.send({ type: 'LOGIN', email: 'ana@example.com', password: CANARY });
    const deadline = Date.now() + 5000;
    while (!received.some((m) => m.includes('"value":"in"')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    a.stop();
    const all = received.join('\n');
    expect(received.length).toBeGreaterThan(5);
    expect(all).toContain('"value":"in"');
    expect(all).not.toContain(CANARY);
    expect(all).toContain('"password":"[redacted]"');
    expect(all).toContain('"key":"[redacted]"');
    expect(all).toContain('"note":"visible"');
  });

  it('turns a busy port into a clear error instead of crashing the process', async () => {
    const held = await occupy();
    await expect(createStatelyInspector({ port: held.port })).rejects.toThrow(StatelyPortInUse);
    await expect(createStatelyInspector({ port: held.port })).rejects.toThrow(/port is in use.*--inspect=stately:PORT/);
    await held.close();
    // a second relay on the port of a running one: same clear error, and the first keeps working
    const port = await freePort();
    const first = await createStatelyInspector({ port });
    running.push(first);
    await expect(createStatelyInspector({ port })).rejects.toThrow(StatelyPortInUse);
    expect((await fetch(first.url)).status).toBe(200);
  });

  it('leaves nothing alive after stop(), with a relay', async () => {
    const r = await runChild(await freePort(), 'relay');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.afterStop).toBeGreaterThanOrEqual(0);
    expect(r.afterStop).toBeLessThan(1500);
  });

  it('leaves nothing alive after stop(), even when its client failed and scheduled a retry', async () => {
    const r = await runChild(await freePort(), 'unreachable');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.afterStop).toBeGreaterThanOrEqual(0);
    // the package's retry waits 5 s (and then retries forever): exiting well before means it was cleared
    expect(r.afterStop).toBeLessThan(1500);
  });
});
