/**
 * Headless Chromium for the inspector tests: Debian's /usr/bin/chromium driven by
 * playwright-core (no browser download), a fresh profile per launch, no network beyond what
 * the page asks of 127.0.0.1. A failing test leaves a screenshot in test/artifacts/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../support/server.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test/artifacts');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** page errors and console errors seen so far */
  errors: string[];
  close(): Promise<void>;
}

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'truco-chromium-'));
  // launchPersistentContext is how playwright takes a --user-data-dir: a fresh one per launch
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1400, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Runs `fn`; on failure saves a screenshot named after `name` and rethrows. */
export async function withScreenshot<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, `${name.replace(/[^A-Za-z0-9_.-]+/g, '-')}-${Date.now()}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    if (e instanceof Error) e.message += `\n(screenshot: ${file})`;
    throw e;
  }
}

/**
 * Starts recording, in the page, every change of the selected actor's highlighted state and
 * status (from the diagram's data attributes), with the time it was seen.
 */
export async function recordDiagram(page: Page): Promise<void> {
  // runs in the page (no DOM types here: the project compiles against Node's)
  await page.evaluate(() => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const g = globalThis as any;
    g.__history = [];
    const d = g.document.querySelector('#diagram');
    const note = () => {
      const active = [...d.querySelectorAll('.state.active')].map((e: { getAttribute(n: string): string | null }) => e.getAttribute('data-id') ?? '');
      g.__history.push({ t: Date.now(), actor: d.dataset.actor ?? '', state: d.dataset.state ?? '', status: d.dataset.status ?? '', active });
    };
    new g.MutationObserver(note).observe(d, { attributes: true, subtree: true, attributeFilter: ['class', 'data-state', 'data-status'] });
    note();
  });
}

export interface HistoryEntry {
  t: number;
  actor: string;
  state: string;
  status: string;
  active: string[];
}

/** Waits until the recorded history has an entry with that active state id and/or status. */
export async function waitForHistory(page: Page, match: { active?: string; status?: string }, timeoutMs: number): Promise<HistoryEntry> {
  const handle = await page.waitForFunction(
    (m) => {
      const w = globalThis as unknown as { __history?: HistoryEntry[] };
      return (w.__history ?? []).find((h) => (m.active === undefined || h.active.includes(m.active)) && (m.status === undefined || h.status === m.status)) ?? false;
    },
    match,
    { timeout: timeoutMs, polling: 'raf' },
  );
  return (await handle.jsonValue()) as HistoryEntry;
}

export async function history(page: Page): Promise<HistoryEntry[]> {
  return page.evaluate(() => (globalThis as unknown as { __history?: HistoryEntry[] }).__history ?? []);
}
