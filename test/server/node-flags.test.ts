import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SERVER_NODE_FLAGS } from '../../server/node-flags.ts';
import { ROOT } from '../support/server.ts';

describe('the server runs with its V8 flags', () => {
  it('`npm run server` passes exactly SERVER_NODE_FLAGS (the ones tests and benches start it with), and starts', async () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const words = (scripts.server ?? '').split(/\s+/);
    expect(words[0]).toBe('node');
    const flags = words.slice(1, words.indexOf('--import'));
    expect(flags).toEqual([...SERVER_NODE_FLAGS]);
    expect(words.slice(words.indexOf('--import'))).toEqual(['--import', 'tsx', 'server/main.ts']);
    // node accepts them (a misspelt V8 flag is refused at start-up)
    const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'server', '--', '--help'], { cwd: ROOT, timeout: 20_000 });
    expect(stdout).toMatch(/--port/);
  });
});
