import { request } from 'node:http';
import { createActor, fromPromise, setup, type AnyActorRef } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { livenessMachine } from '../../machines/liveness.ts';
import { DEFAULT_INSPECT_PORT } from '../../runtime/inspector/config.ts';
import { InspectorPortInUse, startInspector, type Inspector } from '../../runtime/inspector/server.ts';
import { listeningOn, occupy } from './net.ts';

const CANARY = 'CANARY-http-90210';

const login = setup({
  types: { events: {} as { type: 'LOGIN'; email: string; password: string } },
  actors: { logIn: fromPromise<boolean, { email: string; password: string }>(() => new Promise(() => {})) },
}).createMachine({
  id: 'login',
  initial: 'out',
  states: {
    out: { on: { LOGIN: 'auth' } },
    auth: { invoke: { src: 'logIn', input: ({ event }) => ({ email: (event as { email: string }).email, password: (event as { password: string }).password }) } },
  },
});

const running: Inspector[] = [];
const actors: AnyActorRef[] = [];
afterEach(async () => {
  for (const a of actors.splice(0)) a.stop();
  for (const i of running.splice(0)) await i.stop();
});

async function start(opts: Parameters<typeof startInspector>[0] = { port: 0 }): Promise<Inspector> {
  const i = await startInspector(opts);
  running.push(i);
  return i;
}

/** A raw GET with a chosen Host header (fetch does not let one set it). */
function get(url: string, host?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads an SSE stream into parsed events until `until` says stop (or the timeout). */
async function readStream(url: string, until: (events: Array<{ event: string; data: unknown; at: number }>) => boolean, timeoutMs = 3000) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const events: Array<{ event: string; data: unknown; at: number }> = [];
  let raw = '';
  try {
    const res = await fetch(url, { signal: ctl.signal });
    const reader = res.body!.getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const text = new TextDecoder().decode(value);
      raw += text;
      buf += text;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) events.push({ event: ev, data: JSON.parse(data), at: Date.now() });
      }
      if (until(events)) break;
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  return { events, raw };
}

describe('the offline inspector server', () => {
  it('serves the page from the project, on 127.0.0.1 only, with a strict CSP', async () => {
    const ins = await start();
    expect(ins.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(listeningOn(ins.port)).toEqual(['127.0.0.1']);
    const page = await get(ins.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="/app.js">');
    // nothing from outside: no absolute URL in the page's assets
    for (const asset of ['', 'app.js', 'app.css']) {
      const r = await get(ins.url + asset);
      expect(r.status).toBe(200);
      expect(r.body).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
      expect(r.body).not.toMatch(/url\(\s*["']?https?:/);
      expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    }
    const info = JSON.parse((await get(ins.url + 'api/info')).body);
    expect(info).toMatchObject({ title: 'truco', pid: process.pid });
  });

  it('refuses requests for other host names (DNS rebinding) and anything but GET', async () => {
    const ins = await start();
    expect((await get(ins.url, 'evil.example:1234')).status).toBe(403);
    expect((await get(ins.url, `localhost:${ins.port}`)).status).toBe(200);
    expect((await get(ins.url, `127.0.0.1:${ins.port}`)).status).toBe(200);
    const post = await fetch(ins.url + 'api/info', { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('gives a clear error when the port is taken, and falls back when the default one is', async () => {
    const held = await occupy();
    await expect(startInspector({ port: held.port })).rejects.toThrow(InspectorPortInUse);
    await expect(startInspector({ port: held.port })).rejects.toThrow(/port is in use.*--inspect=PORT/);
    await held.close();
    let def: Awaited<ReturnType<typeof occupy>> | null = null;
    try {
      def = await occupy(DEFAULT_INSPECT_PORT);
    } catch {
      // something else holds the default port already: the fallback is exercised all the same
    }
    const ins = await start({});
    expect(ins.port).not.toBe(DEFAULT_INSPECT_PORT);
    await def?.close();
  });

  it('streams the watched actor: current view first, then each transition well within 200 ms', async () => {
    const ins = await start();
    const a = createActor(livenessMachine, { input: { email: 'ana@example.com', suspectProbes: 50, suspectIntervalMs: 1000 }, inspect: ins.inspect });
    actors.push(a);
    a.start();
    const roots = (await (await fetch(ins.url + 'api/children')).json()) as { rows: Array<{ uid: string; name: string; state: string }> };
    expect(roots.rows).toEqual([expect.objectContaining({ name: 'liveness', state: 'alive' })]);
    const uid = roots.rows[0]!.uid;
    let sentAt = 0;
    const got = readStream(`${ins.url}api/stream?id=${uid}`, (evs) => {
      if (sentAt === 0 && evs.some((e) => e.event === 'view')) {
        sentAt = Date.now();
        a.send({ type: 'LIVENESS.MISSED' });
      }
      return evs.some((e) => e.event === 'view' && (e.data as { state: string }).state === 'suspect.probing');
    });
    const { events } = await got;
    const first = events.find((e) => e.event === 'view')!.data as { state: string; active: string[]; chart: string };
    expect(first.state).toBe('alive');
    expect(first.active).toContain('liveness.alive');
    const initialLog = events.find((e) => e.event === 'log')!.data as { reset: boolean; entries: Array<{ type: string }> };
    expect(initialLog.reset).toBe(true);
    const update = events.find((e) => e.event === 'view' && (e.data as { state: string }).state === 'suspect.probing')!;
    const latency = update.at - sentAt;
    console.log(`inspector push latency (transition → SSE view received): ${latency} ms`);
    expect(latency).toBeLessThan(200);
    expect((update.data as { active: string[] }).active).toContain('liveness.suspect.probing');
    const chart = (await (await fetch(`${ins.url}api/chart?key=${first.chart}`)).json()) as { id: string };
    expect(chart.id).toBe('liveness');
  });

  it('shows no password anywhere: tree, views, logs, stream', async () => {
    const ins = await start();
    const a = createActor(login, { inspect: ins.inspect });
    actors.push(a);
    a.start();
    const rootUid = ((await (await fetch(ins.url + 'api/children')).json()) as { rows: Array<{ uid: string }> }).rows[0]!.uid;
    const stream = readStream(`${ins.url}api/stream?id=${rootUid}`, (evs) => evs.some((e) => e.event === 'log' && JSON.stringify(e.data).includes('LOGIN')));
    await new Promise((r) => setTimeout(r, 50));
    a.send({ type: 'LOGIN', email: 'ana@example.com', password: CANARY });
    const { raw } = await stream;
    expect(raw).toContain('"password":"[redacted]"');
    const texts = [raw];
    const search = (await (await fetch(ins.url + 'api/search?q=')).json()) as { rows: Array<{ uid: string }> };
    expect(search.rows.length).toBe(2);
    for (const r of search.rows) texts.push(await (await fetch(`${ins.url}api/actor?id=${r.uid}`)).text());
    expect(texts.join('\n')).not.toContain(CANARY);
    expect(texts.join('\n')).toContain('"input":{"email":"ana@example.com","password":"[redacted]"}');
  });

  it('stops cleanly: streams end, the port is free again, the observer goes quiet', async () => {
    const ins = await startInspector({ port: 0 });
    const a = createActor(livenessMachine, { input: { email: 'z@x.org' }, inspect: ins.inspect });
    a.start();
    const ended = readStream(`${ins.url}api/stream`, () => false, 5000);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await ins.stop();
    await ended;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(listeningOn(ins.port)).toEqual([]);
    const before = ins.hub.stats().events;
    expect(before).toBeGreaterThan(0);
    a.send({ type: 'LIVENESS.MISSED' });
    a.stop();
    expect(ins.hub.stats().events).toBe(before);
    const again = await occupy(ins.port);
    await again.close();
  });
});
