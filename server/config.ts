/** The server's command line and environment: parsed strictly, every bad value a clear error. */
import { join } from 'node:path';
import { err, ok, type Result } from 'neverthrow';
import { DEFAULT_PORT, intFlag, parseFlags, type FlagError } from '../runtime/flags.ts';
import { isLevel, LEVELS, type Level } from '../runtime/log.ts';
import { defaultDataDir } from '../runtime/paths.ts';
import { normalizeHost } from '../runtime/wire/address.ts';
import { INSPECT_FLAGS, normalizeInspectArgv, parseInspect, type InspectConfig } from '../runtime/inspector/config.ts';
import { DEFAULT_SIGNUPS_PER_HOUR } from './ratelimit.ts';

export const HELP = `truco server — accounts, presence and liveness for a truco chat network

Usage: npm run server -- [options]

Options:
  --host HOST              address to listen on (default 0.0.0.0; also TRUCO_HOST)
  --port PORT              UDP port (default ${DEFAULT_PORT}; 0 picks a free one; also TRUCO_PORT)
  --db FILE                account database (default <data dir>/server.db; also TRUCO_DB)
                           the server key is kept next to it as server.key (mode 0600)
  --interval MS            liveness probe (truco) interval, 50-60000 (default 1000)
  --misses N               unanswered probes before a user is suspect, 1-100 (default 3)
  --suspect-probes N       fast re-probes while suspect before dropping, 1-100 (default 10)
  --suspect-interval MS    time between fast re-probes (default 15% of --interval)
  --signups-per-hour N     sign-ups one address may attempt per hour, 0-1000000; 0: no limit
                           (default ${DEFAULT_SIGNUPS_PER_HOUR})
  --log-level LEVEL        ${LEVELS.join(' | ')} (default info)
  --stats-interval MS      how often the server.stats line (sessions, memory, how late the
                           probes left) is logged at info level, 100-3600000 (default 10000)
  --inspect[=PORT]         serve the live statechart inspector at http://127.0.0.1:PORT/
                           (default 54320, or any free port if taken; 0 picks one)
  --inspect=stately[:PORT] send the statecharts to Stately's hosted inspector instead, through
                           a relay on 127.0.0.1:PORT (default 8080); the browser needs internet
  --inspect-host HOST      bind the inspector to HOST instead of 127.0.0.1 (with a warning:
                           anyone who reaches it sees the server's live state)
  -h, --help               show this help

The data directory is $TRUCO_DATA, else $XDG_DATA_HOME/truco, else ~/.local/share/truco.`;

export interface ServerConfig {
  host: string;
  port: number;
  db: string;
  intervalMs: number;
  misses: number;
  suspectProbes: number;
  suspectIntervalMs: number;
  logLevel: Level;
  signupsPerHour: number;
  statsIntervalMs: number;
  /** null: no inspector (and no inspection observer at all) */
  inspect: InspectConfig | null;
}

export function parseServerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Result<ServerConfig | 'help', FlagError> {
  const parsed = parseFlags(normalizeInspectArgv(argv), {
    host: { type: 'string' },
    port: { type: 'string' },
    db: { type: 'string' },
    interval: { type: 'string' },
    misses: { type: 'string' },
    'suspect-probes': { type: 'string' },
    'suspect-interval': { type: 'string' },
    'signups-per-hour': { type: 'string' },
    'log-level': { type: 'string' },
    'stats-interval': { type: 'string' },
    ...INSPECT_FLAGS,
    help: { type: 'boolean', short: 'h' },
  });
  if (parsed.isErr()) return err(parsed.error);
  const v = parsed.value.values;
  if (v.help) return ok('help');
  const str = (k: string) => v[k] as string | undefined;
  // an error names where the bad value came from: the flag, or the environment variable
  const host = str('host') ?? env.TRUCO_HOST ?? '0.0.0.0';
  const hostLabel = str('host') !== undefined ? '--host' : 'TRUCO_HOST';
  if (!normalizeHost(host)) return err({ type: 'FlagError', message: `${hostLabel} must be an IPv4 or IPv6 address, got "${host}"` });
  const port = intFlag('port', str('port') ?? env.TRUCO_PORT, DEFAULT_PORT, 0, 65535, str('port') !== undefined ? '--port' : 'TRUCO_PORT');
  const interval = intFlag('interval', str('interval'), 1000, 50, 60_000);
  const misses = intFlag('misses', str('misses'), 3, 1, 100);
  const suspectProbes = intFlag('suspect-probes', str('suspect-probes'), 10, 1, 100);
  const signups = intFlag('signups-per-hour', str('signups-per-hour'), DEFAULT_SIGNUPS_PER_HOUR, 0, 1_000_000);
  const statsInterval = intFlag('stats-interval', str('stats-interval'), 10_000, 100, 3_600_000);
  for (const r of [port, interval, misses, suspectProbes, signups, statsInterval]) if (r.isErr()) return err(r.error);
  const intervalMs = interval._unsafeUnwrap();
  const suspectInterval = intFlag('suspect-interval', str('suspect-interval'), Math.max(10, Math.round(intervalMs * 0.15)), 10, 60_000);
  if (suspectInterval.isErr()) return err(suspectInterval.error);
  const level = str('log-level') ?? 'info';
  if (!isLevel(level)) return err({ type: 'FlagError', message: `--log-level must be one of ${LEVELS.join(', ')}, got "${level}"` });
  const db = str('db') ?? env.TRUCO_DB ?? join(defaultDataDir(env), 'server.db');
  if (db.trim() === '') return err({ type: 'FlagError', message: `${str('db') !== undefined ? '--db' : 'TRUCO_DB'} must not be empty` });
  const inspect = parseInspect(str('inspect'), str('inspect-host'));
  if (inspect.isErr()) return err(inspect.error);
  return ok({
    host,
    port: port._unsafeUnwrap(),
    db,
    intervalMs,
    misses: misses._unsafeUnwrap(),
    suspectProbes: suspectProbes._unsafeUnwrap(),
    suspectIntervalMs: suspectInterval.value,
    logLevel: level,
    signupsPerHour: signups._unsafeUnwrap(),
    statsIntervalMs: statsInterval._unsafeUnwrap(),
    inspect: inspect.value,
  });
}

