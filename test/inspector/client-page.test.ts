/**
 * The client's inspector as a user sees it: a real server process, an in-process headless
 * client created with the inspector API (what `npm start -- --inspect` wires), the page in
 * headless Chromium. The session diagram must highlight `online` after login, and the password
 * typed at sign-up must never reach the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatClient, type ChatClient } from '../../runtime/client.ts';
import { startInspector, type Inspector } from '../../runtime/inspector/server.ts';
import { startServer, tempDir, type ServerProc } from '../support/server.ts';
import { launch, recordDiagram, waitForHistory, withScreenshot, type Browser } from './browser.ts';

const CANARY = 'canary-pw-Zq81-never-shown';

let server: ServerProc;
let inspector: Inspector;
let client: ChatClient;
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ interval: 200 });
  inspector = await startInspector({ port: 0, title: 'truco client' });
  client = await createChatClient({ server: { host: server.host, port: server.port }, dataDir: tempDir('truco-inspect-client-'), inspect: inspector.inspect });
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await client?.stop();
  await inspector?.stop();
  await server?.kill();
});

/** Everything the inspector says about every actor it knows, as the page could fetch it. */
async function everything(): Promise<string> {
  const texts: string[] = [];
  const all = (await (await fetch(`${inspector.url}api/search?q=&limit=500`)).json()) as { rows: Array<{ uid: string }> };
  texts.push(JSON.stringify(all));
  for (const r of all.rows) texts.push(await (await fetch(`${inspector.url}api/actor?id=${r.uid}`)).text());
  return texts.join('\n');
}

describe('client inspector page (in-process client, real server, headless Chromium)', () => {
  it('shows the session machine, highlights online after login, and never shows the password', async () => {
    const { page, errors } = browser;
    await withScreenshot(page, 'client-session', async () => {
      await page.goto(inspector.url);
      const row = page.locator('.row[data-name="session"]');
      await row.waitFor();
      expect(await row.getAttribute('data-state')).toBe('signedOut');
      await row.click();
      await page.waitForSelector('#diagram .state.active[data-id="session.signedOut"]');
      // the parallel regions of online are drawn side by side
      await page.waitForSelector('#diagram .state.parallel[data-id="session.online"] > .regions > .state[data-id="session.online.link"]');
      await recordDiagram(page);

      const t0 = Date.now();
      client.signUp('ana@example.com', CANARY);
      const online = await waitForHistory(page, { active: 'session.online.link.live' }, 15_000);
      expect(online.active).toEqual(expect.arrayContaining(['session.online', 'session.online.link', 'session.online.presence']));
      expect(client.getSnapshot().matches('online')).toBe(true);
      const latency = Number(await page.evaluate(() => (globalThis as unknown as { document: { body: { dataset: { latency?: string } } } }).document.body.dataset.latency));
      console.log(`client page: online highlighted ${online.t - t0} ms after sign-up started; last update shown ${latency} ms after its transition`);
      expect(latency).toBeLessThan(200);

      // the sign-up event is in the log, its password redacted
      await page.waitForFunction(() =>
        [...(globalThis as unknown as { document: { querySelectorAll(s: string): Array<{ textContent: string | null }> } }).document.querySelectorAll('#log li')].some((li) =>
          (li.textContent ?? '').includes('SIGNUP'),
        ),
      );
      const log = (await page.locator('#log li').allTextContents()).join('\n');
      expect(log).toContain('"password":"[redacted]"');
      // the invoked sign-up actor is a child of the session in the tree
      await page.locator('.row[data-name="session"] .twisty').click();
      await page.waitForSelector('.row[data-kind="signUp"]');

      const html = await page.content();
      expect(html).not.toContain(CANARY);
      expect(await everything()).not.toContain(CANARY);
      expect(errors).toEqual([]);
    });
  });
});
