/** The terminal client's command line and environment: parsed strictly, every bad value a clear error. */
import { err, ok, type Result } from 'neverthrow';
import { DEFAULT_PORT, parseFlags, parseHostPort, type FlagError } from '../runtime/flags.ts';
import { INSPECT_FLAGS, normalizeInspectArgv, parseInspect, type InspectConfig } from '../runtime/inspector/config.ts';
import { parsePinnedKey } from '../runtime/known-servers.ts';
import { isLevel, LEVELS, type Level } from '../runtime/log.ts';
import { defaultDataDir } from '../runtime/paths.ts';
import { langFromEnv, parseLang, type Lang } from './i18n.ts';

export const DEFAULT_SERVER = `127.0.0.1:${DEFAULT_PORT}`;

export const HELP = `truco — chat on your local network (terminal client)

Usage: npm start -- [options]

Options:
  --server HOST:PORT     the truco server (default ${DEFAULT_SERVER}; also TRUCO_SERVER)
  --lang en|pt-BR        language (default from LC_ALL / LC_MESSAGES / LANG)
  --data DIR             where pinned server keys, the message history and the log live
                         (default $TRUCO_DATA, else $XDG_DATA_HOME/truco, else ~/.local/share/truco)
  --server-key KEY       pin this server public key (43 base64url characters) instead of
                         trusting the key the server shows on first contact
  --inspect[=PORT]       serve the live statechart inspector at http://127.0.0.1:PORT/
                         (default 54320, or any free port if taken; 0 picks one)
  --inspect=stately[:PORT]  use Stately's hosted inspector through a relay on 127.0.0.1:PORT
  --inspect-host HOST    bind the inspector to HOST instead of 127.0.0.1
  --no-bell              no terminal bell when a message arrives in another buffer
  --log-level LEVEL      ${LEVELS.join(' | ')} (default info); the log is <data dir>/client.log
  -h, --help             show this help

Keys: F1 or ? in the client lists them all. Ctrl+C or /quit logs out and quits.`;

export interface ClientConfig {
  server: { host: string; port: number };
  /** the server as the user wrote it, "host:port" */
  serverText: string;
  lang: Lang;
  dataDir: string;
  serverKey: Uint8Array | null;
  /** null: no inspector (and no inspection observer at all) */
  inspect: InspectConfig | null;
  bell: boolean;
  logLevel: Level;
}

const fail = (message: string): Result<never, FlagError> => err({ type: 'FlagError', message });

export function parseClientArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Result<ClientConfig | 'help', FlagError> {
  const parsed = parseFlags(normalizeInspectArgv(argv), {
    ...INSPECT_FLAGS,
    server: { type: 'string' },
    lang: { type: 'string' },
    data: { type: 'string' },
    'server-key': { type: 'string' },
    'no-bell': { type: 'boolean' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (parsed.isErr()) return err(parsed.error);
  const v = parsed.value.values;
  if (v.help) return ok('help');
  const str = (k: string) => v[k] as string | undefined;

  const serverText = (str('server') ?? env.TRUCO_SERVER ?? DEFAULT_SERVER).trim();
  const server = parseHostPort(serverText, DEFAULT_PORT);
  if (server.isErr()) return fail(`${str('server') !== undefined ? '--server' : 'TRUCO_SERVER'}: ${server.error.message}`);

  let lang: Lang = langFromEnv(env);
  const rawLang = str('lang');
  if (rawLang !== undefined) {
    const l = parseLang(rawLang);
    if (!l) return fail(`--lang must be en or pt-BR, got "${rawLang}"`);
    lang = l;
  }

  const dataDir = str('data') ?? defaultDataDir(env);
  if (dataDir.trim() === '') return fail('--data must not be empty');

  let serverKey: Uint8Array | null = null;
  const rawKey = str('server-key');
  if (rawKey !== undefined) {
    const k = parsePinnedKey(rawKey);
    if (k.isErr()) return fail(`--server-key: ${k.error.message}`);
    serverKey = k.value;
  }

  const inspect = parseInspect(str('inspect'), str('inspect-host'));
  if (inspect.isErr()) return err(inspect.error);

  const level = str('log-level') ?? 'info';
  if (!isLevel(level)) return fail(`--log-level must be one of ${LEVELS.join(', ')}, got "${level}"`);

  return ok({
    server: server.value,
    serverText,
    lang,
    dataDir,
    serverKey,
    inspect: inspect.value,
    bell: !v['no-bell'],
    logLevel: level,
  });
}
