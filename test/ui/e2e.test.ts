/**
 * The terminal client end to end, as a person uses it: the real client (`ui/main.ts`) in a
 * pseudo-terminal, its output rendered by a headless xterm.js, against the real server process.
 * The steps run in order and share the clients; each asserts what the screen shows. On failure
 * the message carries the screen text.
 *
 * Set TRUCO_UI_CAPTURE=FILE to write the main screen (for the README) to FILE.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, tempDir, type ServerProc } from '../support/server.ts';
import { KEYS, rowWith, Term } from './pty.ts';

const PASSWORD = 'a good password';
const ANA = 'ana@t.io';
const BIA = 'bia@t.io';

let server: ServerProc;
const terms: Term[] = [];
const dirs = { a: tempDir('truco-ui-a-'), b: tempDir('truco-ui-b-'), a3: tempDir('truco-ui-a3-') };
let a: Term;
let b: Term;
let a3: Term;

function client(name: string, dir: string, extra: string[] = [], size: { cols?: number; rows?: number } = {}): Term {
  const t = new Term({ name, args: ['--server', `127.0.0.1:${server.port}`, '--data', dir, '--no-bell', ...extra], ...size });
  terms.push(t);
  return t;
}

/**
 * Clicks the first cell of `text` on the screen (SGR mouse reports, 1-based), press and release
 * as separate reads the way a terminal sends them: blessed takes one read as one event, so a
 * report sharing a read with keys typed a moment before would be lost (no person is that fast).
 */
async function clickText(t: Term, text: string): Promise<void> {
  const lines = t.lines();
  const y = lines.findIndex((l) => l.includes(text));
  expect(y, `"${text}" on screen\n${t.dump()}`).toBeGreaterThanOrEqual(0);
  const x = (lines[y] ?? '').indexOf(text);
  await new Promise((r) => setTimeout(r, 120)); // not in the same read as the last key typed
  t.write(`\x1b[<0;${x + 1};${y + 1}M`);
  await new Promise((r) => setTimeout(r, 60));
  t.write(`\x1b[<0;${x + 1};${y + 1}m`);
  await new Promise((r) => setTimeout(r, 120));
}

/**
 * Fills the login form: email, password, then Enter on a field (log in) or on the Sign up
 * button; 'signup-mouse' moves between fields and presses the button with the mouse instead.
 */
async function submit(t: Term, email: string | null, password: string, how: 'login' | 'signup' | 'signup-mouse'): Promise<void> {
  await t.waitFor((s) => s.includes('Password') || s.includes('Senha'), 20_000, 'the login form');
  if (how === 'signup-mouse') {
    await clickText(t, 'Email');
    await t.type(email ?? '');
    await clickText(t, 'Password');
    await t.type(password);
    await t.waitFor((s) => s.includes('*'.repeat(password.length)), 5000, 'the masked password');
    await clickText(t, '[ Sign up ]');
    return;
  }
  if (email !== null) {
    await t.type(email);
    t.write(KEYS.tab);
  }
  await t.type(password);
  if (how === 'signup') t.write(KEYS.tab + KEYS.tab);
  t.write(KEYS.enter);
}

/** The column of the separator between the conversation and the roster, per body row. */
function separatorColumns(lines: string[]): Set<number> {
  const cols = new Set<number>();
  for (const l of lines.slice(1, -2)) {
    const i = [...l].lastIndexOf('│');
    if (i >= 10) cols.add(cellIndex(l, i));
  }
  return cols;
}

/** Cell index of the i-th code point of a row (emoji take two cells). */
function cellIndex(line: string, i: number): number {
  let x = 0;
  [...line].slice(0, i).forEach((ch) => (x += /\p{Emoji_Presentation}/u.test(ch) ? 2 : 1));
  return x;
}

function assertLayout(t: Term, what: string): void {
  const lines = t.lines();
  const rows = t.term.rows;
  const context = `${what}\n${t.dump()}`;
  expect(lines, context).toHaveLength(rows);
  expect(lines[0], context).toMatch(/\[?\d \S/); // the buffers bar
  expect(lines[rows - 2], context).toMatch(/\d\d:\d\d │ 127\.0\.0\.1:\d+ │ (online|reconnecting)/);
  expect(lines[rows - 1], context).toMatch(/^(\[|✗)/); // the input line
  expect(lines.filter((l) => l.includes('F1 ')), context).toHaveLength(1);
  expect(separatorColumns(lines).size, context).toBe(1);
}

beforeAll(async () => {
  server = await startServer({ interval: 200 });
});

afterAll(async () => {
  await Promise.all(terms.map((t) => t.kill()));
  await server?.kill();
});

describe('terminal client in a pseudo-terminal', () => {
  it('--help prints the flags and bad flags exit 2 with a clear error', async () => {
    const help = client('help', dirs.a, ['--help']);
    expect(await help.exited).toBe(0);
    const text = help.text();
    for (const flag of ['--server HOST:PORT', '--lang en|pt-BR', '--data DIR', '--server-key KEY', '--inspect']) expect(text).toContain(flag);
    const bad = client('bad', dirs.a, ['--lang', 'klingon']);
    expect(await bad.exited).toBe(2);
    expect(bad.text()).toContain('--lang must be en or pt-BR, got "klingon"');
  });

  it('--inspect serves the live statecharts and the status bar shows where', async () => {
    const t = client('inspect', tempDir('truco-ui-i-'), ['--inspect=0']);
    const s = await t.waitFor(/inspector http:\/\/127\.0\.0\.1:\d+\//, 20_000, 'the inspector URL');
    const url = /inspector (http:\/\/127\.0\.0\.1:\d+\/)/.exec(s)?.[1] ?? '';
    expect((await fetch(url)).status).toBe(200);
    t.write(KEYS.ctrlC);
    expect(await t.exited).toBe(0);
  });

  it('A signs up and logs in; the server key is pinned on first contact', async () => {
    a = client('A', dirs.a);
    await submit(a, ANA, PASSWORD, 'signup');
    const s = await a.waitFor(`Logged in as ${ANA}.`);
    expect(s).toContain('First contact with this server: its key');
    expect(s).toContain(`${server.fingerprint} is now pinned.`);
    expect(rowWith(a.lines(), '│ online │', ANA)).toBeDefined();
  });

  it('F1 shows every key binding and Esc closes it', async () => {
    a.write(KEYS.f1);
    const s = await a.waitFor('Keys (Esc or F1 closes)');
    for (const k of ['Alt+1..9', 'Ctrl+N / Ctrl+P', 'Alt+A', 'PgUp / PgDn', 'Ctrl+C, /quit']) expect(s).toContain(k);
    a.write(KEYS.esc);
    await a.waitFor((t) => !t.includes('Keys (Esc or F1 closes)'), 5000, 'the help to close');
  });

  it('B signs up in a second terminal and A sees B in the roster', async () => {
    b = client('B', dirs.b);
    await submit(b, BIA, PASSWORD, 'signup-mouse');
    await b.waitFor(`Logged in as ${BIA}.`);
    const s = await a.waitFor((t) => t.includes('Online (1)') && t.includes(BIA), 15_000, 'B in the roster');
    expect(s).toContain(BIA);
  });

  it('A opens the conversation with a click, sends "olá 👋", and B sees it under A\'s name', async () => {
    // click on B's name in the roster (SGR mouse report: button 0 press and release, 1-based)
    const lines = a.lines();
    const y = lines.findIndex((l) => l.includes(` ${BIA}`) && l.indexOf(BIA) > 60);
    const x = (lines[y] ?? '').indexOf(BIA);
    expect(y).toBeGreaterThan(0);
    a.write(`\x1b[<0;${x + 1};${y + 1}M\x1b[<0;${x + 1};${y + 1}m`);
    await a.waitFor(`${BIA} — connected`);
    await a.waitFor(`[${BIA}]`);
    await a.type('olá 👋');
    a.write(KEYS.enter);
    await a.waitFor((t) => rowWith(t.split('\n'), '✓', ANA, '│ olá 👋') !== undefined, 15_000, 'the delivered mark');

    const note = await b.waitFor(`${ANA} wrote to you: Alt+2 opens the conversation.`);
    expect(note).toMatch(/2 ana@t\.io \(1\)/); // the tab bar counts the unread message
    b.write(KEYS.alt('2'));
    const s = await b.waitFor(`${ANA} — connected`);
    const row = rowWith(s.split('\n'), ANA, '│ olá 👋');
    expect(row, b.dump()).toBeDefined();
    // the emoji takes two cells and the roster separator stays in its column
    expect(separatorColumns(b.lines()).size, b.dump()).toBe(1);

    await b.type('oi! tudo bem? 🎉');
    b.write(KEYS.enter);
    await a.waitFor((t) => rowWith(t.split('\n'), BIA, '│ oi! tudo bem? 🎉') !== undefined, 15_000, 'B\'s answer at A');
    await a.settle();
    assertLayout(a, 'A after the exchange');
    // a small terminal, as in the README's capture
    a.resize(80, 14);
    await a.waitFor((_, l) => l.length === 14 && (l[12] ?? '').includes('│ online'), 5000, 'the 80×14 layout');
    await a.settle();
    assertLayout(a, 'A at 80×14');
    expect(a.text()).toContain('│ olá 👋');
    if (process.env.TRUCO_UI_CAPTURE) writeFileSync(process.env.TRUCO_UI_CAPTURE, a.lines().map((l) => l.trimEnd()).join('\n') + '\n');
    a.resize(100, 30);
    await a.waitFor((_, l) => (l[28] ?? '').includes('│ online'), 5000, 'the 100×30 layout');
  });

  it('B is killed: A\'s buffer shows Disconnected and the input line refuses', async () => {
    await b.kill('SIGKILL');
    const s = await a.waitFor((t) => /── Disconnected\s*│?\s*$/m.test(t) && t.includes(`${BIA} is offline`), 20_000, 'Disconnected');
    expect(s).toContain(`${BIA} — offline`);
    expect(s).toContain('nobody else online');
    await a.type('nope');
    a.write(KEYS.enter);
    await a.settle(300);
    expect(a.text()).not.toContain('nope');
    expect(a.lines()[a.term.rows - 1]).toContain(`✗ ${BIA} is offline: sending is disabled until they return`);
  });

  it('B restarts in pt-BR: a wrong password is refused in words, then A sees Connected and can send again', async () => {
    b = client('B2', dirs.b, ['--lang', 'pt-BR']);
    await submit(b, BIA, 'not the password', 'login');
    await b.waitFor('Senha incorreta.');
    await submit(b, null, PASSWORD, 'login'); // the email stays filled in
    await b.waitFor(`Você entrou como ${BIA}.`);

    await a.waitFor((t) => /── Connected\s*│?\s*$/m.test(t) && t.includes(`${BIA} — connected`), 20_000, 'Connected');
    await a.waitFor(`[${BIA}]`);
    await a.type('de novo');
    a.write(KEYS.enter);
    await b.waitFor(`${ANA} te escreveu`);
    b.write(KEYS.alt('2'));
    const s = await b.waitFor(`${ANA} — conectado`);
    // the history of the earlier session is there, above the new message
    const lines = s.split('\n');
    const old = lines.findIndex((l) => l.includes('│ olá 👋'));
    const sep = lines.findIndex((l) => l.includes('mensagens anteriores'));
    const now = lines.findIndex((l) => l.includes('│ de novo'));
    expect(old, b.dump()).toBeGreaterThan(0);
    expect(sep, b.dump()).toBeGreaterThan(old);
    expect(now, b.dump()).toBeGreaterThan(sep);
  });

  it('logging in as A from a third client kicks the first with "logged in elsewhere"', async () => {
    a3 = client('A3', dirs.a3);
    await submit(a3, ANA, 'wrong password', 'login');
    await a3.waitFor('Wrong password.');
    await submit(a3, null, PASSWORD, 'login');
    await a3.waitFor(`Logged in as ${ANA}.`);
    const s = await a.waitFor('Logged in elsewhere');
    expect(rowWith(s.split('\n'), `Logged in elsewhere: someone logged in as ${ANA}`)).toBeDefined();
    expect(s).toContain('Enter: log in again · q: quit');
    a.write(KEYS.enter);
    const form = await a.waitFor('[ Log in ]');
    expect(form).toContain(ANA); // the email is filled in again
  });

  it('clicks on the buffers bar switch buffers', async () => {
    const click = (x: number, y: number) => b.write(`\x1b[<0;${x + 1};${y + 1}M\x1b[<0;${x + 1};${y + 1}m`);
    click((b.lines()[0] ?? '').indexOf('1 truco'), 0);
    await b.waitFor('truco — início');
    click((b.lines()[0] ?? '').indexOf(`2 ${ANA}`), 0);
    await b.waitFor(`${ANA} — conectado`);
    expect(b.lines()[0]).toContain(`[2 ${ANA}]`);
  });

  it('a resize re-lays the screen out without leftovers', async () => {
    await b.settle();
    assertLayout(b, 'B before');
    b.resize(72, 20);
    await b.waitFor((_, l) => l.length === 20 && (l[18] ?? '').includes('│ online'), 5000, 'the 72×20 layout');
    await b.settle();
    assertLayout(b, 'B at 72×20');
    expect(b.text()).toContain('│ de novo');
    b.resize(120, 36);
    await b.waitFor((_, l) => (l[34] ?? '').includes('│ online'), 5000, 'the 120×36 layout');
    await b.settle();
    assertLayout(b, 'B at 120×36');
    expect(b.lines().every((l) => l.length <= 120)).toBe(true);
  });

  it('--lang pt-BR: when A leaves, B reads "Desconectado"', async () => {
    a3.write(KEYS.ctrlC); // a graceful logout
    expect(await a3.exited).toBe(0);
    const s = await b.waitFor((t) => /── Desconectado\s*│?\s*$/m.test(t) && t.includes(`${ANA} está desconectado`), 20_000, 'Desconectado');
    expect(s).toContain(`${ANA} — desconectado`);
  });

  it('/quit and q leave cleanly', async () => {
    await b.type('/quit');
    b.write(KEYS.enter);
    expect(await b.exited).toBe(0);
    a.write(KEYS.ctrlC);
    expect(await a.exited).toBe(0);
  });
});
