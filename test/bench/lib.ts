/**
 * Shared pieces of the benchmarks: flags, order statistics, /proc readings of another process,
 * the machine's description, and the child-process plumbing (IPC request/answer).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

export const BENCH_DIR = resolve(import.meta.dirname);
export const ROOT = resolve(BENCH_DIR, '../..');

// ---- flags ---------------------------------------------------------------------------------------

export interface Flags {
  has(name: string): boolean;
  num(name: string, fallback: number): number;
  str(name: string, fallback: string): string;
  list(name: string, fallback: number[]): number[];
}

export function parseArgs(argv: string[] = process.argv.slice(2)): Flags {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf('--' + name);
    if (i >= 0) return argv[i + 1];
    const eq = argv.find((a) => a.startsWith(`--${name}=`));
    return eq?.slice(name.length + 3);
  };
  return {
    has: (name) => argv.includes('--' + name) || argv.some((a) => a.startsWith(`--${name}=`)),
    num(name, fallback) {
      const v = Number(get(name));
      return get(name) !== undefined && Number.isFinite(v) ? v : fallback;
    },
    str: (name, fallback) => get(name) ?? fallback,
    list(name, fallback) {
      const v = get(name);
      if (v === undefined) return fallback;
      const xs = v.split(',').map(Number).filter((x) => Number.isFinite(x) && x > 0);
      return xs.length > 0 ? xs : fallback;
    },
  };
}

// ---- statistics ----------------------------------------------------------------------------------

/** The q-quantile (0..1) of `xs` by the nearest-rank method; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

export const median = (xs: readonly number[]) => quantile(xs, 0.5);

export const round = (x: number, digits = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

/**
 * A fixed-bucket histogram of non-negative values (ms), cheap enough to feed once per probe at
 * 20 000 probes a second and mergeable across processes: bucket i holds values in [i·w, (i+1)·w).
 */
export class Histogram {
  counts: number[];
  constructor(readonly width = 1, buckets = 5000) {
    this.counts = new Array<number>(buckets).fill(0);
  }
  add(v: number): void {
    const i = Math.min(this.counts.length - 1, Math.max(0, Math.floor(v / this.width)));
    this.counts[i] = (this.counts[i] ?? 0) + 1;
  }
  get n(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }
  merge(counts: number[]): void {
    counts.forEach((c, i) => (this.counts[i] = (this.counts[i] ?? 0) + c));
  }
  /** the upper edge of the bucket holding the q-quantile */
  quantile(q: number): number {
    const n = this.n;
    if (n === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return (i + 1) * this.width;
    }
    return this.counts.length * this.width;
  }
}

// ---- another process, seen through /proc ---------------------------------------------------------

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/**
 * How long a thread has been runnable but waiting for a core so far, in ms, from its schedstat
 * file (`/proc/thread-self/schedstat` for the caller's own thread, `/proc/PID/task/PID/schedstat`
 * for another process's main thread); 0 where there is none (off Linux).
 */
export function runQueueWaitMs(schedstat = '/proc/thread-self/schedstat'): number {
  return schedstatMs(schedstat, 1);
}

/** How long a thread has run on a core so far, in ms (the same file's first field); 0 where there is none. */
export function threadRunMs(schedstat = '/proc/thread-self/schedstat'): number {
  return schedstatMs(schedstat, 0);
}

function schedstatMs(file: string, field: number): number {
  try {
    return Number(readFileSync(file, 'utf8').split(' ')[field]) / 1e6;
  } catch {
    return 0;
  }
}

/** Resident set size in MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Samples a process's CPU use between start() and stop(), in % of one core. */
export function cpuMeter(pid: number) {
  let c0 = 0;
  let t0 = 0;
  return {
    start() {
      c0 = cpuSeconds(pid);
      t0 = performance.now();
    },
    stop(): number {
      return (100 * (cpuSeconds(pid) - c0)) / ((performance.now() - t0) / 1000);
    },
  };
}

export function load1(): number {
  return round(loadavg()[0] ?? NaN, 2);
}

export function machine(): { nproc: number; cpu: string; memGiB: number; node: string } {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) model = m[1].trim();
  } catch {
    /* not Linux */
  }
  return { nproc: cpus().length, cpu: model, memGiB: round(totalmem() / 2 ** 30, 1), node: process.version };
}

// ---- output --------------------------------------------------------------------------------------

/** Human lines go to stderr when --json is given, so stdout holds only the JSON objects. */
export function say(json: boolean, line: string): void {
  (json ? process.stderr : process.stdout).write(line + '\n');
}

export function table(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0] as object);
  const cell = (v: unknown) => (typeof v === 'number' ? String(Math.abs(v) < 10 && !Number.isInteger(v) ? round(v, 3) : round(v, 1)) : String(v));
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(widths[i] ?? 0)).join('  ');
  return [line(keys), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(keys.map((k) => cell(r[k]))))].join('\n');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- child processes with a request/answer channel -----------------------------------------------

export interface Worker {
  proc: ChildProcess;
  /** sends `msg` with a fresh id and resolves with the answer carrying that id */
  ask<T = Record<string, unknown>>(msg: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** messages the child sends on its own (not answers) */
  onEvent(fn: (m: Record<string, unknown>) => void): void;
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

/**
 * Starts `node --import tsx <script>` with an IPC channel. `fds` raises the open-file limit of
 * the child first (through `sh -c 'ulimit -n …; exec node …'`, which needs root or a high hard
 * limit; without them the child keeps the default limit). With `BENCH_CPU_PROF=DIR` in the
 * environment every worker runs under `--cpu-prof` and writes its profile to DIR when it is
 * stopped (a disconnect, then SIGKILL after 5 s).
 */
export function startWorker(script: string, args: string[] = [], opts: { fds?: number; env?: NodeJS.ProcessEnv } = {}): Worker {
  const node = [process.execPath, ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), '--import', 'tsx', join(BENCH_DIR, script), ...args];
  const quoted = node.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const proc = opts.fds
    ? spawn('sh', ['-c', `ulimit -n ${opts.fds} 2>/dev/null; exec ${quoted}`], {
        cwd: ROOT,
        env: { ...process.env, ...opts.env },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
    : spawn(node[0] as string, node.slice(1), { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 1;
  const waiting = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  const listeners: Array<(m: Record<string, unknown>) => void> = [];
  proc.on('message', (m: Record<string, unknown>) => {
    const id = typeof m.id === 'number' ? m.id : 0;
    const w = waiting.get(id);
    if (w) {
      waiting.delete(id);
      clearTimeout(w.timer);
      if (typeof m.error === 'string') w.reject(new Error(`${script}: ${m.error}`));
      else w.resolve(m as never);
    } else for (const l of listeners) l(m);
  });
  const exited = new Promise<number | null>((r) =>
    proc.once('exit', (code) => {
      for (const w of waiting.values()) {
        clearTimeout(w.timer);
        w.reject(new Error(`${script} exited with ${code}`));
      }
      waiting.clear();
      r(code);
    }),
  );
  return {
    proc,
    exited,
    ask<T>(msg: Record<string, unknown>, timeoutMs = 600_000): Promise<T> {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${script}: no answer to ${String(msg.cmd)} in ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, { resolve: resolve as (v: never) => void, reject, timer });
        proc.send({ ...msg, id });
      });
    },
    onEvent: (fn) => listeners.push(fn),
    async kill() {
      // profiled (BENCH_CPU_PROF): let it exit on the disconnect, so that it writes its profile
      if (process.env.BENCH_CPU_PROF && proc.connected) {
        proc.disconnect();
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** The child side: answers each request with `handler`'s result (or its error). */
export function serveRequests(handler: (m: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>): void {
  process.on('message', (m: Record<string, unknown>) => {
    Promise.resolve()
      .then(() => handler(m))
      .then(
        (r) => process.send?.({ ...r, id: m.id }),
        (e: unknown) => process.send?.({ id: m.id, error: e instanceof Error ? e.stack ?? e.message : String(e) }),
      );
  });
  // the parent going away ends the child: a bench never leaves processes behind
  process.on('disconnect', () => process.exit(0));
}
