/**
 * The server restarts under two terminal clients: the status bar says reconnecting…, the input
 * line says why it is disabled, and once the server is back both resume without logging in
 * again and the conversation goes on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, tempDir, type ServerProc } from '../support/server.ts';
import { KEYS, rowWith, Term } from './pty.ts';

const terms: Term[] = [];
let server: ServerProc | null = null;

afterAll(async () => {
  await Promise.all(terms.map((t) => t.kill()));
  await server?.kill();
});

async function signUp(t: Term, email: string): Promise<void> {
  await t.waitFor('Password', 20_000);
  await t.type(email);
  t.write(KEYS.tab);
  await t.type('a good password');
  t.write(KEYS.tab + KEYS.tab + KEYS.enter);
  await t.waitFor(`Logged in as ${email}.`);
}

describe('terminal client across a server restart', () => {
  it('shows reconnecting…, then resumes and keeps chatting', async () => {
    server = await startServer({ interval: 200 });
    const { port, dir } = server;
    const open = (name: string) => {
      const t = new Term({ name, args: ['--server', `127.0.0.1:${port}`, '--data', tempDir(`truco-ui-${name}-`), '--no-bell'] });
      terms.push(t);
      return t;
    };
    const a = open('A');
    const b = open('B');
    await Promise.all([signUp(a, 'ana@t.io'), signUp(b, 'bia@t.io')]);
    await a.waitFor('Online (1)');
    a.write(KEYS.enter); // the roster has the focus at home: open its first name
    await a.waitFor('bia@t.io — connected');
    await a.type('before');
    a.write(KEYS.enter);
    await a.waitFor((t) => rowWith(t.split('\n'), '✓ ana@t.io │ before') !== undefined, 15_000, 'delivered');

    await server.kill();
    const s = await a.waitFor('│ reconnecting… │', 15_000);
    expect(s).toContain('✗ You are not online: sending resumes once reconnected');

    server = await startServer({ interval: 200, port, dir });
    await a.waitFor((t) => t.includes('│ online │') && t.includes('bia@t.io — connected'), 40_000, 'online again');
    await a.waitFor('[bia@t.io]');
    await a.type('after');
    a.write(KEYS.enter);
    b.write(KEYS.alt('2'));
    const text = await b.waitFor('│ after', 20_000);
    expect(text.indexOf('│ before')).toBeGreaterThan(0);
    expect(text.indexOf('│ before')).toBeLessThan(text.indexOf('│ after'));
    expect(b.text()).not.toContain('Logged in elsewhere');
  }, 90_000);
});
