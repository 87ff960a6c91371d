/**
 * `npm run server` exactly as the README says to start the server: it listens, and runs with the
 * node flags the server is tuned with (runtime/heap.ts), which the other tests spawn it with too.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../../runtime/heap.ts';
import { tempDir } from '../support/server.ts';

const ROOT = resolve(import.meta.dirname, '../..');
let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

describe('npm run server', () => {
  it("package.json's server script carries the server's node flags", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const script = pkg.scripts.server ?? '';
    expect(script).toMatch(/--import tsx server\/main\.ts$/);
    for (const flag of SERVER_NODE_FLAGS) expect(script.split(' ')).toContain(flag);
  });

  it('starts the server with those flags, listening', async () => {
    const dir = tempDir('truco-npm-server-');
    // its own process group, so that npm, the shell and node all stop at the end
    const p = spawn('npm', ['run', '--silent', 'server', '--', '--host', '127.0.0.1', '--port', '0', '--db', join(dir, 'server.db')], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup = () => {
      try {
        process.kill(-(p.pid as number), 'SIGKILL');
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    };
    let out = '';
    let err = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!/"event":"server.started"/.test(err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(out).toMatch(/listening on 127\.0\.0\.1:\d+/);
    const started = JSON.parse(err.split('\n').find((l) => l.includes('"server.started"')) ?? '{}') as { nodeFlags?: string[] };
    for (const flag of SERVER_NODE_FLAGS) expect(started.nodeFlags).toContain(flag);
  }, 40_000);
});
