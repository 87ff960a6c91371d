/**
 * Small, strict command-line parsing shared by the server and the client:
 * every bad value is a clear error (the caller prints it and exits with 2).
 */
import { parseArgs } from 'node:util';
import { err, ok, type Result } from 'neverthrow';

export interface FlagError { type: 'FlagError'; message: string }
const fail = (message: string): Result<never, FlagError> => err({ type: 'FlagError', message });

export function parseFlags<T extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(
  argv: string[],
  options: T,
): Result<{ values: Record<string, string | boolean | undefined>; positionals: string[] }, FlagError> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
    return ok({ values: values as Record<string, string | boolean | undefined>, positionals });
  } catch (e) {
    return fail((e as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

/** `label` names where the value came from in errors: the flag (default) or an environment variable. */
export function intFlag(name: string, raw: string | undefined, def: number, min: number, max: number, label = `--${name}`): Result<number, FlagError> {
  if (raw === undefined) return ok(def);
  if (!/^\d+$/.test(raw)) return fail(`${label} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) return fail(`${label} must be between ${min} and ${max}, got ${n}`);
  return ok(n);
}

/** "host:port", "[v6]:port", "host" (default port) → { host, port } */
export function parseHostPort(raw: string, defaultPort: number): Result<{ host: string; port: number }, FlagError> {
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(raw) ?? /^([^:\s\[\]]+)(?::(\d+))?$/.exec(raw);
  if (!m || !m[1]) return fail(`expected HOST:PORT, got "${raw}"`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`port must be 1-65535, got "${m[2]}"`);
  return ok({ host: m[1], port });
}

export const DEFAULT_PORT = 54319;
