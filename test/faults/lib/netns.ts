/**
 * A network namespace of our own, with loopback up and a loss rule we control:
 *
 *   ip netns add truco-<pid>-<n>; ip -n … link set lo up
 *   iptables -N TRUCO_LOSS; iptables -A INPUT -p udp -j TRUCO_LOSS
 *   iptables -R TRUCO_LOSS 1 -m statistic --mode random --probability P -j DROP
 *
 * Every datagram between two processes in the namespace crosses INPUT once, so P is the
 * per-datagram loss. Processes are started inside with `ip netns exec` (which execs, so the
 * child's pid is the program's). Everything is torn down in `close()`, on process exit and on
 * SIGINT/SIGTERM, even when a test fails; `sweepStale()` removes namespaces of dead runs.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PREFIX = 'truco-';
const CHAIN = 'TRUCO_LOSS';
/** rules that cut single ports off (a partition), checked before the random loss */
const CUT = 'TRUCO_CUT';

let counter = 0;
const open = new Set<Netns>();

/** Fails with a clear message when the suite cannot run here (not root, a tool missing). */
export function checkPrerequisites(): string | null {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'the fault suite needs root (it creates network namespaces and iptables rules); run it as root';
  }
  const missing: string[] = [];
  for (const [tool, pkg] of [['ip', 'iproute2'], ['iptables', 'iptables'], ['tcpdump', 'tcpdump']] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      missing.push(`${tool} (apt-get install -y ${pkg})`);
    }
  }
  return missing.length ? `the fault suite needs ${missing.join(', ')}` : null;
}

export class Netns {
  readonly name: string;
  private readonly children = new Set<ChildProcess>();
  private closed = false;
  private loss = 0;

  private constructor(name: string) {
    this.name = name;
  }

  static async create(): Promise<Netns> {
    const problem = checkPrerequisites();
    if (problem) throw new Error(problem);
    installHandlers();
    const ns = new Netns(`${PREFIX}${process.pid}-${++counter}`);
    open.add(ns);
    await run('ip', ['netns', 'add', ns.name]);
    await run('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
    await ns.iptables(['-N', CUT]);
    await ns.iptables(['-A', 'INPUT', '-p', 'udp', '-j', CUT]);
    await ns.iptables(['-N', CHAIN]);
    await ns.iptables(['-A', 'INPUT', '-p', 'udp', '-j', CHAIN]);
    await ns.iptables(['-A', CHAIN, '-j', 'RETURN']);
    return ns;
  }

  private iptables(args: string[]) {
    return run('ip', ['netns', 'exec', this.name, 'iptables', '-w', ...args]);
  }

  /** Per-datagram random loss on every UDP datagram received inside the namespace. */
  async setLoss(p: number): Promise<void> {
    if (!(p >= 0 && p <= 1)) throw new Error(`loss must be within 0..1, got ${p}`);
    const rule = p > 0 ? ['-m', 'statistic', '--mode', 'random', '--probability', p.toFixed(6), '-j', 'DROP'] : ['-j', 'RETURN'];
    await this.iptables(['-R', CHAIN, '1', ...rule]);
    this.loss = p;
  }

  /** Cuts a local UDP port off: every datagram to or from it is dropped until `heal(port)`. */
  async cut(port: number): Promise<void> {
    await this.iptables(['-A', CUT, '-p', 'udp', '--dport', String(port), '-j', 'DROP']);
    await this.iptables(['-A', CUT, '-p', 'udp', '--sport', String(port), '-j', 'DROP']);
  }

  async heal(port: number): Promise<void> {
    await this.iptables(['-D', CUT, '-p', 'udp', '--dport', String(port), '-j', 'DROP']);
    await this.iptables(['-D', CUT, '-p', 'udp', '--sport', String(port), '-j', 'DROP']);
  }

  get currentLoss(): number {
    return this.loss;
  }

  /** Datagrams the loss rule dropped so far (iptables counter). */
  async droppedByRule(): Promise<number> {
    const { stdout } = await this.iptables(['-L', CHAIN, '-n', '-v', '-x']);
    const line = stdout.split('\n').find((l) => /\bDROP\b/.test(l));
    return line ? Number(line.trim().split(/\s+/)[0]) : 0;
  }

  /** The kernel's UDP counters inside the namespace (InDatagrams, RcvbufErrors, …). */
  async udpCounters(): Promise<Record<string, number>> {
    const { stdout } = await run('ip', ['netns', 'exec', this.name, 'cat', '/proc/net/snmp']);
    const lines = stdout.split('\n').filter((l) => l.startsWith('Udp:'));
    const names = (lines[0] ?? '').split(/\s+/).slice(1);
    const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
    return Object.fromEntries(names.map((n, i) => [n, values[i] ?? 0]));
  }

  /** Starts `cmd args` inside the namespace; the process is killed in `close()`. */
  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    if (this.closed) throw new Error(`namespace ${this.name} is closed`);
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Starts a TypeScript entry point with node + tsx inside the namespace. */
  spawnTs(file: string, args: string[], opts: SpawnOptions = {}, nodeFlags: string[] = []): ChildProcess {
    return this.spawn(process.execPath, [...nodeFlags, '--import', 'tsx', file, ...args], opts);
  }

  /** Kills every process we started and every process left in the namespace, then deletes it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(
      [...this.children].map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())))),
    );
    killInside(this.name);
    try {
      await run('ip', ['netns', 'del', this.name]);
    } catch {
      /* already gone */
    }
    open.delete(this);
  }

  /** Synchronous last-resort teardown (process exit handler). */
  closeSync(): void {
    this.closed = true;
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    killInside(this.name);
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
    open.delete(this);
  }
}

function killInside(name: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  } catch {
    /* namespace gone */
  }
}

let handlersInstalled = false;
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const ns of [...open]) ns.closeSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const ns of [...open]) ns.closeSync();
      process.exit(130);
    });
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Deletes `truco-<pid>-<n>` namespaces whose creating process is gone; returns their names. */
export function sweepStale(): string[] {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of list.split('\n')) {
    const name = line.split(/\s+/)[0] ?? '';
    const m = /^truco-(\d+)-\d+$/.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    killInside(name);
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      removed.push(name);
    } catch {
      /* raced */
    }
  }
  return removed;
}

/** Namespaces of ours that exist now (for the cleanup assertion). */
export function listOurs(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(/\s+/)[0] ?? '')
      .filter((n) => n.startsWith(PREFIX));
  } catch {
    return [];
  }
}

/**
 * Gilbert–Elliott loss: a two-state Markov chain stepped every `stepMs`; the good state drops
 * `goodLoss`, the bad state `badLoss`, and the rule is swapped when the state changes.
 */
export interface GilbertElliott {
  stepMs: number;
  /** P(good → bad) per step */
  pGB: number;
  /** P(bad → good) per step */
  pBG: number;
  goodLoss: number;
  badLoss: number;
  seed: number;
}

export interface GeReport {
  bursts: number;
  badMs: number;
  longestBurstMs: number;
  totalMs: number;
}

/** Seeded PRNG (mulberry32), so a pattern can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the pattern until `stop()`; resolves its report. */
export function runGilbertElliott(ns: Netns, ge: GilbertElliott): { stop: () => Promise<GeReport> } {
  const rand = prng(ge.seed);
  let bad = false;
  let stopped = false;
  const start = performance.now();
  let burstStart = 0;
  const rep: GeReport = { bursts: 0, badMs: 0, longestBurstMs: 0, totalMs: 0 };
  let pending: Promise<void> = ns.setLoss(ge.goodLoss);
  const endBurst = (t: number) => {
    const d = t - burstStart;
    rep.badMs += d;
    rep.longestBurstMs = Math.max(rep.longestBurstMs, d);
  };
  const timer = setInterval(() => {
    if (stopped) return;
    const t = performance.now();
    if (!bad && rand() < ge.pGB) {
      bad = true;
      burstStart = t;
      rep.bursts++;
      pending = pending.then(() => ns.setLoss(ge.badLoss));
    } else if (bad && rand() < ge.pBG) {
      bad = false;
      endBurst(t);
      pending = pending.then(() => ns.setLoss(ge.goodLoss));
    }
  }, ge.stepMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      const t = performance.now();
      if (bad) endBurst(t);
      rep.totalMs = t - start;
      await pending;
      return rep;
    },
  };
}
