/**
 * The server's inspector as a user sees it: the real server process started with `--inspect 0`,
 * a headless client in its own process, the page in headless Chromium. Stopping the client
 * (SIGSTOP) must move its liveness actor from alive to suspect on the page, then end it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnClient, type ClientProc } from '../support/client-proc-driver.ts';
import { startServer, tempDir, type ServerProc } from '../support/server.ts';
import { history, launch, recordDiagram, waitForHistory, withScreenshot, type Browser } from './browser.ts';
import { listeningOn } from './net.ts';

const INTERVAL = 200;
const MISSES = 2;
const SUSPECT_PROBES = 8;
const SUSPECT_INTERVAL = 50;
/** from the last answered probe to suspect, and to offline */
const TO_SUSPECT = INTERVAL * (MISSES + 1);
const SUSPICION = SUSPECT_PROBES * SUSPECT_INTERVAL;
/** scheduling slack on a loaded 2-core machine */
const SLACK = 400;

let server: ServerProc;
let url: string;
let browser: Browser;
const procs: ClientProc[] = [];

beforeAll(async () => {
  server = await startServer({ interval: INTERVAL, misses: MISSES, suspectProbes: SUSPECT_PROBES, suspectInterval: SUSPECT_INTERVAL, extra: ['--inspect', '0'] });
  const deadline = Date.now() + 5000;
  for (;;) {
    const m = /^inspector on (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(server.stdout());
    if (m) {
      url = m[1] as string;
      break;
    }
    if (Date.now() > deadline) throw new Error(`no inspector line in: ${server.stdout()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  browser = await launch();
});

afterAll(async () => {
  for (const p of procs) {
    p.kill('SIGCONT');
    p.kill('SIGKILL');
  }
  await browser?.close();
  await server?.kill();
});

describe('server inspector page (real server, real client process, headless Chromium)', () => {
  it('prints its address and listens on 127.0.0.1 only', () => {
    const port = Number(new URL(url).port);
    expect(listeningOn(port)).toEqual(['127.0.0.1']);
    expect(server.stdout()).toMatch(/listening on .*\nserver key .*\ninspector on http:\/\/127\.0\.0\.1:\d+\/\n/);
  });

  it("lists the user's liveness actor, highlights alive, then suspect when the client stops answering, then ends it", async () => {
    const { page, errors } = browser;
    await withScreenshot(page, 'server-liveness', async () => {
      const client = await spawnClient(server.host, server.port, tempDir('truco-inspect-proc-'));
      procs.push(client);
      client.send({ cmd: 'signup', email: 'ines@example.com', password: 'a long enough password' });
      await client.waitFor((v) => v.state === 'online');

      await page.goto(url);
      await page.waitForSelector('#conn[data-state="live"]');
      expect(await page.textContent('#title')).toBe('truco server');
      // 10 000 users would not fit a list: the tree starts collapsed, search finds the user
      await page.waitForSelector('.row[data-name="registry"][aria-expanded="false"]');
      await page.fill('#search', 'ines@');
      const row = page.locator('.row[data-name="liveness:ines@example.com"]');
      await row.waitFor();
      expect(await row.getAttribute('data-state')).toBe('alive');
      await row.click();
      await page.waitForSelector('#diagram .state.active[data-id="liveness.alive"]');
      expect(await page.locator('#diagram .state.active').count()).toBe(1);
      // the chart is the liveness machine: nested suspect.probing, after transitions labelled
      await page.waitForSelector('#diagram .state[data-id="liveness.suspect"] .state[data-id="liveness.suspect.probing"]');
      expect(await page.locator('#diagram .tr.after').first().textContent()).toMatch(/^after suspectInterval/);
      await recordDiagram(page);

      const stoppedAt = Date.now();
      client.proc.kill('SIGSTOP');
      const suspect = await waitForHistory(page, { active: 'liveness.suspect.probing' }, TO_SUSPECT + SUSPICION + 5000);
      const ended = await waitForHistory(page, { status: 'done' }, SUSPICION + 5000);
      const toSuspect = suspect.t - stoppedAt;
      const toEnd = ended.t - suspect.t;
      const latency = Number(await page.evaluate(() => (globalThis as unknown as { document: { body: { dataset: { latency?: string } } } }).document.body.dataset.latency));
      console.log(`page: suspect ${toSuspect} ms after SIGSTOP (bound ${TO_SUSPECT}), ended ${toEnd} ms later (suspicion ${SUSPICION}); last update shown ${latency} ms after the transition`);
      expect(toSuspect).toBeGreaterThanOrEqual(INTERVAL * (MISSES - 1));
      expect(toSuspect).toBeLessThanOrEqual(TO_SUSPECT + SLACK);
      expect(toEnd).toBeGreaterThanOrEqual((SUSPECT_PROBES - 1) * SUSPECT_INTERVAL);
      expect(toEnd).toBeLessThanOrEqual(SUSPICION + SLACK);
      expect(ended.active).toContain('liveness.offline');
      expect(latency).toBeLessThan(200);
      // the highlight moved alive → suspect → offline, never back
      const states = (await history(page)).map((h) => h.state).filter((s, i, a) => s && s !== a[i - 1]);
      expect(states).toEqual(['alive', 'suspect.probing', 'offline']);
      // the tree marks the actor ended
      await page.waitForSelector('.row[data-name="liveness:ines@example.com"][data-status="done"]');
      // its log says why, with timestamps
      const log = await page.locator('#log li').allTextContents();
      expect(log.some((l) => /^\d\d:\d\d:\d\d\.\d{3}LIVENESS\.MISSED/.test(l))).toBe(true);
      expect(log.some((l) => /■ done/.test(l))).toBe(true);
      client.proc.kill('SIGCONT');
      expect(errors).toEqual([]);
    });
  });
});
