/**
 * Runs the real server as a child process, as a user would (`server/main.ts`
 * through tsx), on 127.0.0.1 with port 0, and reads its address and key
 * fingerprint from its first lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SERVER_NODE_FLAGS } from '../../runtime/heap.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface ServerProc {
  proc: ChildProcess;
  host: string;
  port: number;
  fingerprint: string;
  dir: string;
  db: string;
  /** everything the server wrote to stderr (its JSON log) */
  logs(): string;
  stdout(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** resolves once the process exited */
  exited: Promise<number | null>;
}

export interface ServerArgs {
  dir?: string;
  port?: number;
  interval?: number;
  misses?: number;
  suspectProbes?: number;
  suspectInterval?: number;
  extra?: string[];
  env?: NodeJS.ProcessEnv;
}

export function tempDir(prefix = 'truco-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function serverArgs(a: ServerArgs & { dir: string }): string[] {
  const args = ['--host', '127.0.0.1', '--port', String(a.port ?? 0), '--db', join(a.dir, 'server.db'), '--log-level', 'debug'];
  if (a.interval !== undefined) args.push('--interval', String(a.interval));
  if (a.misses !== undefined) args.push('--misses', String(a.misses));
  if (a.suspectProbes !== undefined) args.push('--suspect-probes', String(a.suspectProbes));
  if (a.suspectInterval !== undefined) args.push('--suspect-interval', String(a.suspectInterval));
  return [...args, ...(a.extra ?? [])];
}

/** Spawns `node FLAGS --import tsx server/main.ts ARGS` (as `npm run server` does) and returns its raw process with captured output. */
export function spawnServer(args: string[], env: NodeJS.ProcessEnv = {}) {
  const proc = spawn(process.execPath, [...SERVER_NODE_FLAGS, '--import', 'tsx', join(ROOT, 'server/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let errText = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (errText += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, exited, stdout: () => out, stderr: () => errText };
}

export async function startServer(a: ServerArgs = {}): Promise<ServerProc> {
  const dir = a.dir ?? tempDir();
  const { proc, exited, stdout, stderr } = spawnServer(serverArgs({ ...a, dir }), a.env);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = /listening on ([\d.]+):(\d+)\nserver key (SHA256:\S+)/.exec(stdout());
    if (m) {
      return {
        proc,
        host: m[1] as string,
        port: Number(m[2]),
        fingerprint: m[3] as string,
        dir,
        db: join(dir, 'server.db'),
        logs: stderr,
        stdout,
        exited,
        async kill(signal: NodeJS.Signals = 'SIGTERM') {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
          return exited;
        },
      };
    }
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${stderr()}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not start: ${stdout()} ${stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
