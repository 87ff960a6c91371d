/**
 * Structured logging: one JSON line per event, to stderr by default or to a file.
 * Callers pass plain fields; anything that looks like a secret is never passed in
 * the first place, and `redact` is a second line of defence for known field names.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { turnBuffer } from './turn-buffer.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
export const LEVELS = Object.keys(ORDER) as Level[];

const SECRET_FIELDS = new Set(['password', 'ticket', 'secret', 'privateKey', 'key', 'token', 'text']);

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  close(): Promise<void>;
}

export function isLevel(s: string): s is Level {
  return Object.hasOwn(ORDER, s);
}

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_FIELDS.has(k)) out[k] = '[redacted]';
    else if (v instanceof Uint8Array) out[k] = `<${v.length} bytes>`;
    else if (typeof v === 'bigint') out[k] = v.toString();
    else if (v instanceof Error) out[k] = v.message;
    else out[k] = v;
  }
  return out;
}

/** every logger's flush, run once when the process exits */
const atExit = new Set<() => void>();
process.once('exit', () => {
  for (const flush of atExit) flush();
});

export function createLogger(opts: { level?: Level; file?: string; stream?: NodeJS.WritableStream; base?: Record<string, unknown> } = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  let owned: WriteStream | null = null;
  const out: NodeJS.WritableStream = opts.stream ?? (opts.file ? (owned = createWriteStream(opts.file, { flags: 'a', mode: 0o600 })) : process.stderr);
  // The lines of one turn of the event loop go out in one write: stderr to a file or a pipe is a
  // write(2) per call, and a server resuming a thousand clients a second logs a line for each
  // (~3 % of its time in a restart storm went to those writes). Written at the end of the turn,
  // at 64 KB, at close and at exit; a SIGKILL loses at most the current turn's lines.
  const buffer = turnBuffer((text) => out.write(text), 65_536);
  const flush = buffer.flush;
  atExit.add(flush);
  const make = (base: Record<string, unknown>): Logger => {
    const write = (level: Level, event: string, fields?: Record<string, unknown>) => {
      if (ORDER[level] < min) return;
      buffer.add(JSON.stringify({ t: new Date().toISOString(), level, event, ...base, ...(fields ? redact(fields) : {}) }) + '\n');
    };
    return {
      debug: (e, f) => write('debug', e, f),
      info: (e, f) => write('info', e, f),
      warn: (e, f) => write('warn', e, f),
      error: (e, f) => write('error', e, f),
      child: (f) => make({ ...base, ...redact(f) }),
      close: () =>
        new Promise<void>((resolve) => {
          flush();
          atExit.delete(flush);
          if (owned) owned.end(resolve);
          else resolve();
        }),
    };
  };
  return make(opts.base ?? {});
}

/** A logger that drops everything (tests, benches). */
export const silentLogger: Logger = {
  debug() {}, info() {}, warn() {}, error() {},
  child() { return silentLogger; },
  close: async () => {},
};
