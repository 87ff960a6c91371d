/**
 * The real server and the client farms as processes inside a fault namespace, with their
 * output parsed as it arrives.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Netns } from './netns.ts';
import { SERVER_NODE_FLAGS } from '../../../runtime/heap.ts';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const AGENTS = join(ROOT, 'test/faults/agents');

export function tempDir(prefix = 'truco-faults-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves when `pred()` holds (polled every `everyMs`), rejects with `what` after `timeoutMs`. */
export async function until(pred: () => boolean, timeoutMs: number, what: string, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;
export const waitExit = (p: ChildProcess) => new Promise<void>((r) => (exited(p) ? r() : p.once('exit', () => r())));

function lines(stream: NodeJS.ReadableStream | null, fn: (line: string) => void): void {
  let buf = '';
  stream?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      fn(line);
    }
  });
}

export interface LogEvent {
  t: number;
  level: string;
  event: string;
  [k: string]: unknown;
}

// ---- the server ------------------------------------------------------------------------------

export interface ServerOpts {
  dir: string;
  port?: number;
  logLevel?: string;
  extra?: string[];
}

export interface ServerInNs {
  proc: ChildProcess;
  pid: number;
  host: string;
  port: number;
  dir: string;
  db: string;
  events: LogEvent[];
  /** raw stderr + stdout text (for secret scans) */
  text(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** VmRSS and VmHWM in KiB, from /proc */
  memory(): { rssKb: number; hwmKb: number };
}

export async function startServerIn(ns: Netns, o: ServerOpts): Promise<ServerInNs> {
  mkdirSync(o.dir, { recursive: true });
  // every simulated client signs up from the same address: no per-address sign-up limit here
  const args = ['--host', '127.0.0.1', '--port', String(o.port ?? 0), '--db', join(o.dir, 'server.db'), '--log-level', o.logLevel ?? 'info', '--signups-per-hour', '0', ...(o.extra ?? [])];
  const proc = ns.spawnTs(join(ROOT, 'server/main.ts'), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }, [...SERVER_NODE_FLAGS]);
  let out = '';
  let errText = '';
  const events: LogEvent[] = [];
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  lines(proc.stderr, (l) => {
    errText += l + '\n';
    try {
      const j = JSON.parse(l);
      events.push({ ...j, t: Date.parse(j.t) });
    } catch {
      /* not a log line */
    }
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /listening on ([\d.]+):(\d+)/.exec(out);
    if (m && out.includes('server key')) {
      const pid = proc.pid!;
      return {
        proc,
        pid,
        host: m[1]!,
        port: Number(m[2]),
        dir: o.dir,
        db: join(o.dir, 'server.db'),
        events,
        text: () => out + errText,
        async kill(signal: NodeJS.Signals = 'SIGTERM') {
          if (!exited(proc)) proc.kill(signal);
          await waitExit(proc);
        },
        memory() {
          try {
            const s = readFileSync(`/proc/${pid}/status`, 'utf8');
            const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
            return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
          } catch {
            return { rssKb: 0, hwmKb: 0 };
          }
        },
      };
    }
    if (exited(proc)) throw new Error(`server exited (${proc.exitCode ?? proc.signalCode}): ${errText}`);
    if (Date.now() > deadline) throw new Error(`server did not start: ${out} ${errText}`);
    await sleep(20);
  }
}

/** The last `server.stats` line logged at or after `since` (the server logs one every 10 s). */
export async function nextStats(s: ServerInNs, since: number, timeoutMs = 15_000): Promise<LogEvent> {
  let found: LogEvent | undefined;
  await until(() => (found = s.events.find((e) => e.event === 'server.stats' && e.t >= since)) !== undefined, timeoutMs, 'a server.stats line');
  return found!;
}


// ---- client farms ----------------------------------------------------------------------------

export interface FarmEvent {
  t: number;
  ev: string;
  id?: string;
  [k: string]: unknown;
}

/**
 * When `view` was online again after the first `reconnecting` it entered at or after `since`
 * (a kill, a restart), or undefined while it is not back. Looking from the reconnect, not from
 * the moment a restart was seen, counts a client that is back before the test noticed the server.
 */
export function backOnlineAt(view: ClientView, since: number): number | undefined {
  const i = view.states.findIndex((s) => s.t >= since && s.state === 'reconnecting');
  return i >= 0 ? view.states.slice(i + 1).find((s) => s.state === 'online')?.t : undefined;
}

export interface ClientView {
  id: string;
  email: string;
  farm: Farm;
  port: number;
  state: string;
  roster: Set<string>;
  /** every state this client entered, with times */
  states: Array<{ t: number; state: string; kick: unknown; cause: unknown; error: unknown }>;
}

type Listener = (e: FarmEvent) => void;

export class Farm {
  readonly events: FarmEvent[] = [];
  readonly clients = new Map<string, ClientView>();
  readonly stderr: string[] = [];
  private readonly listeners = new Set<Listener>();
  pid = 0;
  uncaught: string | null = null;

  private constructor(readonly proc: ChildProcess, readonly name: string, private readonly keepEvents: boolean) {}

  static async start(ns: Netns, server: { host: string; port: number }, dataRoot: string, name = 'farm', keepEvents = true, env: NodeJS.ProcessEnv = {}): Promise<Farm> {
    mkdirSync(dataRoot, { recursive: true });
    const proc = ns.spawnTs(join(AGENTS, 'farm.ts'), [server.host, String(server.port), dataRoot], { cwd: ROOT, env: { ...process.env, ...env } });
    const farm = new Farm(proc, name, keepEvents);
    lines(proc.stderr, (l) => farm.stderr.push(l));
    lines(proc.stdout, (l) => {
      let e: FarmEvent;
      try {
        e = JSON.parse(l);
      } catch {
        return;
      }
      farm.onEvent(e);
    });
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`farm ${name} did not start: ${farm.stderr.join('\n')}`)), 30_000);
      farm.on((e) => {
        if (e.ev === 'ready') {
          clearTimeout(t);
          farm.pid = Number(e.pid);
          res();
        }
      });
      proc.once('exit', (code) => rej(new Error(`farm ${name} exited with ${code}: ${farm.stderr.join('\n')}`)));
    });
    return farm;
  }

  on(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private onEvent(e: FarmEvent): void {
    if (this.keepEvents && e.ev !== 'stats') this.events.push(e);
    const c = e.id ? this.clients.get(e.id) : undefined;
    if (e.ev === 'added' && c) c.port = Number(e.port);
    if (e.ev === 'state' && c) {
      c.state = String(e.state);
      c.states.push({ t: e.t, state: c.state, kick: e.kick, cause: e.cause, error: e.error });
    }
    if (e.ev === 'roster' && c) {
      for (const k of (e.add as string[]) ?? []) c.roster.add(k);
      for (const k of (e.remove as string[]) ?? []) c.roster.delete(k);
    }
    if (e.ev === 'uncaught') this.uncaught = String(e.error);
    for (const l of this.listeners) l(e);
  }

  send(cmd: Record<string, unknown>): void {
    this.proc.stdin!.write(JSON.stringify(cmd) + '\n');
  }

  add(id: string, email: string, password: string, signup: boolean, app = false): ClientView {
    const v: ClientView = { id, email, farm: this, port: 0, state: 'signedOut', roster: new Set(), states: [] };
    this.clients.set(id, v);
    this.send({ cmd: 'add', id, email, password, signup, app });
    return v;
  }

  stats(timeoutMs = 10_000): Promise<FarmEvent> {
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`farm ${this.name}: no stats`)), timeoutMs);
      const off = this.on((e) => {
        if (e.ev === 'stats') {
          clearTimeout(t);
          off();
          res(e);
        }
      });
      this.send({ cmd: 'stats' });
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!exited(this.proc)) this.proc.kill(signal);
    return waitExit(this.proc);
  }
}

/** Adds `emails` to farms round-robin, in batches (sign-up hashes run on the server's pool). */
export async function populate(
  farms: Farm[],
  emails: string[],
  password: string,
  opts: { signup: boolean; batch?: number; timeoutMs?: number; prefix?: string } = { signup: true },
): Promise<ClientView[]> {
  const views: ClientView[] = [];
  const batch = opts.batch ?? 10;
  for (let i = 0; i < emails.length; i += batch) {
    const chunk = emails.slice(i, i + batch).map((email, j) => {
      const farm = farms[(i + j) % farms.length]!;
      return farm.add(`${opts.prefix ?? 'c'}${i + j}`, email, password, opts.signup);
    });
    views.push(...chunk);
    await until(() => chunk.every((v) => v.state === 'online'), opts.timeoutMs ?? 60_000, `clients ${chunk.map((c) => c.email).join(', ')} online (states ${chunk.map((c) => c.state).join(',')})`);
  }
  return views;
}

// ---- one-shot agents (attacker, fuzzer, flooder, fuzz target) ---------------------------------

export interface Agent {
  proc: ChildProcess;
  events: FarmEvent[];
  stderr(): string;
  send(cmd: Record<string, unknown>): void;
  /** the first event (at or after index `from`) that satisfies pred */
  waitFor(pred: (e: FarmEvent) => boolean, timeoutMs?: number, from?: number): Promise<FarmEvent>;
  /** sends a command and waits for the next event of kind `ev` */
  ask(cmd: Record<string, unknown>, ev: string, timeoutMs?: number): Promise<FarmEvent>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startAgent(ns: Netns, name: string, args: string[], nodeFlags: string[] = []): Agent {
  const proc = ns.spawnTs(join(AGENTS, name), args, { cwd: ROOT }, nodeFlags);
  const events: FarmEvent[] = [];
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  lines(proc.stdout, (l) => {
    try {
      events.push(JSON.parse(l));
    } catch {
      /* not ours */
    }
  });
  const waitFor = async (pred: (e: FarmEvent) => boolean, timeoutMs = 30_000, from = 0) => {
    let found: FarmEvent | undefined;
    await until(
      () => {
        found = events.slice(from).find(pred);
        if (!found && exited(proc)) throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}): ${err}`);
        return found !== undefined;
      },
      timeoutMs,
      `${name}: expected event (last: ${JSON.stringify(events.at(-1) ?? null)}; stderr: ${err.slice(-500)})`,
      10,
    );
    return found!;
  };
  return {
    proc,
    events,
    stderr: () => err,
    send: (cmd) => proc.stdin!.write(JSON.stringify(cmd) + '\n'),
    waitFor,
    ask(cmd, ev, timeoutMs = 10_000) {
      const from = events.length;
      proc.stdin!.write(JSON.stringify(cmd) + '\n');
      return waitFor((e) => e.ev === ev, timeoutMs, from);
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!exited(proc)) proc.kill(signal);
      return waitExit(proc);
    },
  };
}
