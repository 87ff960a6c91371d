/** Spawns test/support/client-proc.ts and follows its JSON lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ChatLine } from '../../runtime/client.ts';
import { ROOT } from './server.ts';

export interface ProcConversation {
  connected: boolean;
  canSend: boolean;
  reason: null | 'peer_offline' | 'not_online';
  lines: ChatLine[];
}

export interface ProcView {
  state: string;
  email: string | null;
  sid: number | null;
  roster: string[];
  kick: string | null;
  error: string | null;
  /** conversations by peer */
  convs: Record<string, ProcConversation>;
  /** results of the send / retry commands, in order */
  sent: Array<{ id?: string; error?: string }>;
}

export interface ClientProc {
  proc: ChildProcess;
  port: number;
  last(): ProcView | null;
  send(cmd: Record<string, unknown>): void;
  waitFor(pred: (v: ProcView) => boolean, timeoutMs?: number): Promise<ProcView>;
  kill(signal?: NodeJS.Signals): void;
}

export async function spawnClient(host: string, port: number, dataDir: string): Promise<ClientProc> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/client-proc.ts'), host, String(port), dataDir], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let buf = '';
  let view: ProcView | null = null;
  let localPort = 0;
  const listeners = new Set<() => void>();
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const j = JSON.parse(line);
        if (j.ready) localPort = j.port;
        else view = j;
      } catch {
        /* not ours */
      }
      for (const l of listeners) l();
    }
  });
  const waitFor = (pred: (v: ProcView) => boolean, timeoutMs = 15_000) =>
    new Promise<ProcView>((resolve, reject) => {
      const check = () => {
        if (view && pred(view)) {
          listeners.delete(check);
          clearTimeout(t);
          resolve(view);
        }
      };
      const t = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`client process: condition not met; last view ${JSON.stringify(view)}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('client process did not start')), 20_000);
    const check = () => {
      if (localPort) {
        clearTimeout(t);
        listeners.delete(check);
        resolve();
      }
    };
    listeners.add(check);
  });
  return {
    proc,
    get port() {
      return localPort;
    },
    last: () => view,
    send: (cmd) => proc.stdin!.write(JSON.stringify(cmd) + '\n'),
    waitFor,
    kill: (signal = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
}
