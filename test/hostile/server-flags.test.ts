/**
 * Every command-line flag (and environment variable) of the server refuses bad values with a
 * message that names the flag and the value, and the real process exits with status 2 before
 * it binds anything. The table must cover every flag the help text lists.
 */
import { describe, expect, it } from 'vitest';
import { HELP, parseServerArgs } from '../../server/config.ts';
import { spawnServer, tempDir } from '../support/server.ts';

interface Bad {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** what the message must contain */
  says: RegExp;
}

const BAD: Record<string, Bad[]> = {
  host: [
    { argv: ['--host', 'localhost'], says: /--host must be an IPv4 or IPv6 address, got "localhost"/ },
    { argv: ['--host', '256.0.0.1'], says: /--host .*"256\.0\.0\.1"/ },
    { argv: ['--host', '1.2.3'], says: /--host .*"1\.2\.3"/ },
    { argv: ['--host', ''], says: /--host .*""/ },
    { argv: [], env: { TRUCO_HOST: 'example.org' }, says: /^TRUCO_HOST must be .*"example\.org"/ },
  ],
  port: [
    { argv: ['--port', '65536'], says: /--port must be between 0 and 65535, got 65536/ },
    { argv: ['--port', 'abc'], says: /--port must be a whole number, got "abc"/ },
    { argv: ['--port', '1.5'], says: /--port .*"1\.5"/ },
    { argv: ['--port', '0x10'], says: /--port .*"0x10"/ },
    { argv: ['--port', '1e3'], says: /--port .*"1e3"/ },
    { argv: ['--port', ' 80'], says: /--port .*" 80"/ },
    { argv: ['--port=-1'], says: /--port .*"-1"/ },
    { argv: ['--port', '-1'], says: /--port/ },
    { argv: ['--port'], says: /--port.*missing/ },
    { argv: [], env: { TRUCO_PORT: 'eighty' }, says: /^TRUCO_PORT must be .*"eighty"/ },
  ],
  db: [
    { argv: ['--db', ''], says: /--db must not be empty/ },
    { argv: ['--db', '   '], says: /--db must not be empty/ },
    { argv: [], env: { TRUCO_DB: '' }, says: /^TRUCO_DB must not be empty/ },
  ],
  interval: [
    { argv: ['--interval', '49'], says: /--interval must be between 50 and 60000, got 49/ },
    { argv: ['--interval', '60001'], says: /--interval .*60001/ },
    { argv: ['--interval', '0'], says: /--interval .*0/ },
    { argv: ['--interval', '+100'], says: /--interval must be a whole number, got "\+100"/ },
    { argv: ['--interval', '1000.0'], says: /--interval .*"1000\.0"/ },
    { argv: ['--interval', 'fast'], says: /--interval .*"fast"/ },
  ],
  misses: [
    { argv: ['--misses', '0'], says: /--misses must be between 1 and 100, got 0/ },
    { argv: ['--misses', '101'], says: /--misses .*101/ },
    { argv: ['--misses', 'three'], says: /--misses .*"three"/ },
  ],
  'suspect-probes': [
    { argv: ['--suspect-probes', '0'], says: /--suspect-probes must be between 1 and 100, got 0/ },
    { argv: ['--suspect-probes', '101'], says: /--suspect-probes .*101/ },
    { argv: ['--suspect-probes', '2.5'], says: /--suspect-probes .*"2\.5"/ },
  ],
  'suspect-interval': [
    { argv: ['--suspect-interval', '9'], says: /--suspect-interval must be between 10 and 60000, got 9/ },
    { argv: ['--suspect-interval', '60001'], says: /--suspect-interval .*60001/ },
    { argv: ['--suspect-interval', 'soon'], says: /--suspect-interval .*"soon"/ },
  ],
  'signups-per-hour': [
    { argv: ['--signups-per-hour', 'lots'], says: /--signups-per-hour must be a whole number, got "lots"/ },
    { argv: ['--signups-per-hour', '2000000'], says: /--signups-per-hour must be between 0 and 1000000/ },
  ],
  'stats-interval': [
    { argv: ['--stats-interval', '99'], says: /--stats-interval must be between 100 and 3600000, got 99/ },
    { argv: ['--stats-interval', 'often'], says: /--stats-interval must be a whole number, got "often"/ },
  ],
  'log-level': [
    { argv: ['--log-level', 'verbose'], says: /--log-level must be one of debug, info, warn, error, got "verbose"/ },
    { argv: ['--log-level', 'INFO'], says: /--log-level .*"INFO"/ },
    { argv: ['--log-level', ''], says: /--log-level .*""/ },
  ],
  inspect: [
    { argv: ['--inspect=abc'], says: /--inspect .*"abc"/ },
    { argv: ['--inspect=70000'], says: /--inspect .*70000/ },
    { argv: ['--inspect=-1'], says: /--inspect .*"-1"/ },
    { argv: ['--inspect=stately:x'], says: /--inspect .*"stately:x"/ },
    { argv: ['--inspect=stately:70000'], says: /--inspect=stately:PORT .*70000/ },
  ],
  'inspect-host': [
    { argv: ['--inspect', '--inspect-host', 'nope'], says: /--inspect-host must be an IPv4 or IPv6 address, got "nope"/ },
    { argv: ['--inspect', '--inspect-host', ''], says: /--inspect-host .*""/ },
    { argv: ['--inspect-host', '127.0.0.1'], says: /--inspect-host needs --inspect/ },
  ],
  help: [{ argv: ['--help=yes'], says: /--help' does not take an argument/ }],
  unknown: [
    { argv: ['--bogus'], says: /Unknown option '--bogus'/ },
    { argv: ['extra'], says: /Unexpected argument 'extra'/ },
  ],
};

describe('server flags: every bad value is refused with a message naming the flag and the value', () => {
  it('the table covers every flag the help lists', () => {
    const listed = new Set([...HELP.matchAll(/^\s+(?:-\w, )?--([a-z-]+)/gm)].map((m) => m[1]));
    expect(listed.size).toBeGreaterThanOrEqual(10);
    for (const flag of listed) expect(Object.keys(BAD), `no bad values for --${flag}`).toContain(flag);
  });

  for (const [flag, cases] of Object.entries(BAD)) {
    it(`--${flag}: ${cases.length} bad value(s) refused by the parser`, () => {
      for (const c of cases) {
        const r = parseServerArgs(c.argv, c.env ?? {});
        expect(r.isErr(), JSON.stringify(c.argv)).toBe(true);
        if (r.isErr()) expect(r.error.message).toMatch(c.says);
      }
    });
  }

  it('the real server process exits with status 2 and the message for one bad value of every flag, before binding', async () => {
    const dir = tempDir('truco-flags-');
    const picks = Object.values(BAD).map((cases) => cases[0]!);
    const runs = await Promise.all(
      picks.map(async (c) => {
        // a --db in a temp dir unless the case is about --db, so nothing is created elsewhere
        const argv = c.argv.includes('--db') || c.env?.TRUCO_DB !== undefined ? c.argv : [...c.argv, '--db', `${dir}/never.db`];
        const p = spawnServer(argv, c.env ?? {});
        const code = await p.exited;
        return { c, code, stderr: p.stderr(), stdout: p.stdout() };
      }),
    );
    for (const r of runs) {
      expect(r.code, `${JSON.stringify(r.c.argv)}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^truco server: /);
      expect(r.stderr).toMatch(r.c.says);
      expect(r.stderr).toMatch(/Try --help/);
      expect(r.stdout).not.toMatch(/listening on/);
    }
  });

  it('a database path that cannot be used is a clear runtime error (status 1), not a crash', async () => {
    const dir = tempDir('truco-flags-');
    const p = spawnServer(['--host', '127.0.0.1', '--port', '0', '--db', dir]);
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toMatch(new RegExp(`^truco server: cannot open the database ${dir}: `));
    expect(p.stderr()).not.toMatch(/\n\s+at /);
  });

  it('--help prints every flag and exits 0', async () => {
    const p = spawnServer(['--help']);
    expect(await p.exited).toBe(0);
    for (const flag of Object.keys(BAD).filter((f) => f !== 'unknown')) expect(p.stdout()).toContain(`--${flag}`);
  });
});
