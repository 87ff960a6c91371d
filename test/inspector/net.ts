/** Small network helpers for the inspector tests (127.0.0.1 only). */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Holds a port on 127.0.0.1 until `close` is called. */
export async function occupy(port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve());
  });
  return { port: (s.address() as { port: number }).port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/**
 * The local addresses listening on a TCP port, read from /proc/net/tcp{,6} (no traffic):
 * e.g. ['127.0.0.1'] or ['0.0.0.0'] or ['::'].
 */
export function listeningOn(port: number): string[] {
  const out: string[] = [];
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // 0A = LISTEN
      const [addr, p] = (f[1] ?? '').split(':');
      if (parseInt(p ?? '', 16) !== port || !addr) continue;
      if (!v6) out.push(Buffer.from(addr, 'hex').reverse().join('.'));
      else out.push(addr === '00000000000000000000000000000000' ? '::' : addr === '00000000000000000000000001000000' ? '::1' : addr);
    }
  }
  return out;
}
