/**
 * The real server process for the benches (`server/main.ts` through tsx), on 127.0.0.1, logging
 * only warnings (a line per login would be the bench measuring its own log). `nodeFlags` adds
 * flags such as `--cpu-prof`.
 *
 * The server's stderr goes to a file in `dir`, read back when asked: on a pipe its log lines are
 * synchronous writes that block whenever the (busy) bench process is slow to read them, and a
 * 20 000-client ramp at `info` stalled the server's event loop for seconds that way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, readFileSync, fstatSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { parseKeyFile } from '../../runtime/crypto/keyfile.ts';
import { SERVER_NODE_FLAGS } from '../../runtime/heap.ts';
import { ROOT } from './lib.ts';

export interface BenchServer {
  proc: ChildProcess;
  pid: number;
  port: number;
  /** the server's static public key (raw 32 bytes, base64) */
  key: string;
  /** performance.now() when it printed its address */
  readyAt: number;
  stderr(): string;
  /** the last `server.stats` line it logged (every 10 s), if any */
  lastStats(): string | undefined;
  /** every `server.stats` line it logged (kept within the last 200 KB of its log), parsed, with `t` in ms */
  statsLines(): StatsLine[];
  /** how many log lines of each event so far (with `logLevel: 'info'`) */
  events(): Record<string, number>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** a `server.stats` line, parsed (server/host.ts) */
export interface StatsLine {
  /** when it was logged, ms since the epoch */
  t: number;
  probeLateMs?: { probes: number; p50: number; p99: number; max: number };
  /** MB: rss, heapTotal, heapUsed, newSpace (the young generation, committed) and newSpaceResident, heapResident, external, arrayBuffers */
  mem?: Record<string, number>;
}

export async function startBenchServer(opts: {
  dir: string;
  port?: number;
  intervalMs?: number;
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
  logLevel?: string;
  /** scheduling priority (nice value) to give the server; a negative one needs root (else ignored) */
  priority?: number;
  /** more server flags (e.g. `--stats-interval`) */
  args?: string[];
}): Promise<BenchServer> {
  const args = [
    // as `npm run server` runs it; the bench's own flags after, so they win
    ...SERVER_NODE_FLAGS,
    ...(opts.nodeFlags ?? []),
    '--import',
    'tsx',
    join(ROOT, 'server/main.ts'),
    '--host',
    '127.0.0.1',
    '--port',
    String(opts.port ?? 0),
    '--db',
    join(opts.dir, 'server.db'),
    '--interval',
    String(opts.intervalMs ?? 1000),
    '--log-level',
    opts.logLevel ?? 'warn',
    ...(opts.args ?? []),
  ];
  const errFile = join(opts.dir, `server-stderr-${Date.now()}.log`);
  const errFd = openSync(errFile, 'w+');
  const proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', errFd] });
  if (opts.priority !== undefined && proc.pid !== undefined) {
    try {
      setPriority(proc.pid, opts.priority);
    } catch {
      /* not allowed: the server runs at the default priority */
    }
  }
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const events: Record<string, number> = {};
  let partial = '';
  let readUpTo = 0;
  /** reads what the server wrote to its stderr file since the last call */
  const catchUp = (): void => {
    const size = fstatSync(errFd).size;
    if (size <= readUpTo) return;
    const chunk = Buffer.allocUnsafe(size - readUpTo);
    const n = readSync(errFd, chunk, 0, chunk.length, readUpTo);
    readUpTo += n;
    const text = partial + chunk.toString('utf8', 0, n);
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /"event":"([^"]+)"/.exec(line);
      if (m?.[1]) events[m[1]] = (events[m[1]] ?? 0) + 1;
      if (!m || !/^(session\.opened|session\.closed|user\.left|liveness\.)/.test(m[1] ?? '')) err = (err + line + '\n').slice(-200_000);
    }
  };
  const exited = new Promise<void>((r) =>
    proc.once('exit', () => {
      catchUp();
      closeSync(errFd);
      r();
    }),
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /listening on [\d.]+:(\d+)/.exec(out);
    if (m) {
      const readyAt = performance.now();
      const key = parseKeyFile('server.key', readFileSync(join(opts.dir, 'server.key'), 'utf8'));
      if (key.isErr()) throw new Error('cannot read the server key');
      return {
        proc,
        pid: proc.pid as number,
        port: Number(m[1]),
        key: Buffer.from(key.value.publicKey).toString('base64'),
        readyAt,
        stderr: () => {
          if (proc.exitCode === null && proc.signalCode === null) catchUp();
          return err;
        },
        lastStats: () => {
          if (proc.exitCode === null && proc.signalCode === null) catchUp();
          return err.split('\n').filter((l) => l.includes('"server.stats"')).at(-1);
        },
        statsLines: () => {
          if (proc.exitCode === null && proc.signalCode === null) catchUp();
          const out: StatsLine[] = [];
          for (const l of err.split('\n')) {
            if (!l.includes('"server.stats"')) continue;
            try {
              const o = JSON.parse(l) as Omit<StatsLine, 't'> & { t: string };
              out.push({ t: Date.parse(o.t), ...(o.probeLateMs ? { probeLateMs: o.probeLateMs } : {}), ...(o.mem ? { mem: o.mem } : {}) });
            } catch {
              /* a line cut by the 200 KB window */
            }
          }
          return out;
        },
        events: () => {
          if (proc.exitCode === null && proc.signalCode === null) catchUp();
          return { ...events };
        },
        async kill(signal: NodeJS.Signals = 'SIGKILL') {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
          await exited;
        },
      };
    }
    if (proc.exitCode !== null) {
      await exited;
      throw new Error(`server exited with ${proc.exitCode}: ${err}`);
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not start: ${out} ${err}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
