/**
 * The `--inspect[=PORT|stately[:PORT]]` and `--inspect-host HOST` flags, shared by the server
 * and the client, and one call that starts whichever inspector they asked for.
 *
 *   --inspect                 offline inspector on 127.0.0.1:54320 (any free port if taken)
 *   --inspect=0 / --inspect 0 offline inspector on a free port (printed)
 *   --inspect=PORT            offline inspector on PORT (an error if it is taken)
 *   --inspect=stately[:PORT]  Stately's hosted inspector through a relay on 127.0.0.1:PORT (8080)
 *   --inspect-host HOST       bind address instead of 127.0.0.1 (printed with a warning)
 */
import { err, ok, type Result } from 'neverthrow';
import type { FlagError } from '../flags.ts';
import type { Logger } from '../log.ts';
import { normalizeHost } from '../wire/address.ts';
import type { InspectFn } from './server.ts';

/** The offline inspector's port when `--inspect` has no value (any free port if it is taken). */
export const DEFAULT_INSPECT_PORT = 54320;
/** The Stately relay's port for `--inspect=stately` (the package's own default). */
export const DEFAULT_STATELY_PORT = 8080;

export function isLoopback(host: string): boolean {
  return host === '::1' || host === 'localhost' || /^127\./.test(host);
}

export type InspectConfig =
  | { mode: 'offline'; /** undefined: the default port, or a free one */ port: number | undefined; host: string }
  | { mode: 'stately'; port: number; host: string };

export interface RunningInspector {
  mode: 'offline' | 'stately';
  url: string;
  inspect: InspectFn;
  stop(): Promise<void>;
}

const fail = (message: string): Result<never, FlagError> => err({ type: 'FlagError', message });

/**
 * Rewrites `--inspect` so node's parseArgs can read it as a string option with an optional
 * value: `--inspect 0` and `--inspect stately` become `--inspect=0` / `--inspect=stately`, a bare
 * `--inspect` becomes `--inspect=<BARE>`. Other arguments pass through.
 */
export function normalizeInspectArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a !== '--inspect') {
      out.push(a);
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && (/^\d+$/.test(next) || /^stately(:\d+)?$/.test(next))) {
      out.push(`--inspect=${next}`);
      i++;
    } else out.push(`--inspect=${BARE}`);
  }
  return out;
}

/** what a bare `--inspect` becomes (a value nobody types), told apart from an empty `--inspect=` */
const BARE = '\u0000default';

/** The parseArgs options for the two flags. */
export const INSPECT_FLAGS = {
  inspect: { type: 'string' },
  'inspect-host': { type: 'string' },
} as const;

/** Reads the flags' values (after `normalizeInspectArgv`); null when `--inspect` was not given. */
export function parseInspect(value: string | undefined, host: string | undefined): Result<InspectConfig | null, FlagError> {
  if (value === undefined) {
    if (host !== undefined) return fail('--inspect-host needs --inspect');
    return ok(null);
  }
  const bind = host ?? '127.0.0.1';
  if (host !== undefined && !normalizeHost(host)) return fail(`--inspect-host must be an IPv4 or IPv6 address, got "${host}"`);
  if (value === BARE) return ok({ mode: 'offline', port: undefined, host: bind });
  if (value === '') return fail('--inspect= needs a value: a port number, "stately" or "stately:PORT" (or --inspect alone for the default)');
  if (/^\d+$/.test(value)) {
    const port = Number(value);
    if (port > 65535) return fail(`--inspect port must be between 0 and 65535, got ${port}`);
    return ok({ mode: 'offline', port, host: bind });
  }
  const m = /^stately(?::(\d+))?$/.exec(value);
  if (m) {
    const port = m[1] === undefined ? DEFAULT_STATELY_PORT : Number(m[1]);
    if (port < 1 || port > 65535) return fail(`--inspect=stately:PORT needs a port between 1 and 65535, got ${m[1]}`);
    return ok({ mode: 'stately', port, host: bind });
  }
  return fail(`--inspect takes a port number, "stately" or "stately:PORT", got "${value}"`);
}

/** A warning to print when the inspector is reachable from other machines, else null. */
export function inspectWarning(cfg: InspectConfig): string | null {
  if (isLoopback(cfg.host)) return null;
  return (
    `the inspector listens on ${cfg.host}, not only on this machine: anyone who can reach that ` +
    `address sees the live state of this process (sanitized, but no password protects it)`
  );
}

/**
 * Starts the inspector the flags asked for. Throws an Error with a clear message on failure.
 * The inspector's modules are loaded here, so a process run without `--inspect` never loads them.
 */
export async function startConfiguredInspector(cfg: InspectConfig, opts: { logger?: Logger; title?: string } = {}): Promise<RunningInspector> {
  if (cfg.mode === 'stately') {
    const { createStatelyInspector } = await import('./stately.ts');
    const s = await createStatelyInspector({ port: cfg.port, host: cfg.host, ...(opts.logger ? { logger: opts.logger } : {}) });
    return { mode: 'stately', url: s.url, inspect: s.inspect, stop: s.stop };
  }
  const { startInspector } = await import('./server.ts');
  const o = await startInspector({
    host: cfg.host,
    ...(cfg.port !== undefined ? { port: cfg.port } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.title ? { title: opts.title } : {}),
  });
  return { mode: 'offline', url: o.url, inspect: o.inspect, stop: o.stop };
}

/** The line a CLI prints at start. */
export function inspectorBanner(running: RunningInspector): string {
  return running.mode === 'offline'
    ? `inspector on ${running.url}`
    : `inspector relay on ${running.url} (Stately's hosted inspector: the browser needs internet)`;
}
