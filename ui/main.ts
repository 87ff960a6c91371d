/**
 * `npm start -- [flags]`: the truco terminal client. Bad flags: a clear error, exit 2.
 * While the screen is up nothing else writes to the terminal: the log, console output and
 * warnings go to <data dir>/client.log.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { format } from 'node:util';
import { createChatClient } from '../runtime/client.ts';
import { inspectWarning, startConfiguredInspector, type RunningInspector } from '../runtime/inspector/config.ts';
import { KNOWN_SERVERS_FILE } from '../runtime/known-servers.ts';
import { createLogger, type Logger } from '../runtime/log.ts';
import { ensureDir } from '../runtime/paths.ts';
import { startApp } from './app.ts';
import { HELP, parseClientArgs } from './config.ts';
import { openHistory } from './history.ts';
import { strings } from './i18n.ts';
import { createScreen } from './screen.ts';

const die = (message: string, code: number): never => {
  process.stderr.write(`truco: ${message}\n`);
  process.exit(code);
};

/** Sends console output and stray stderr writes to the log while the screen is up. */
function captureOutput(log: Logger): () => void {
  const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug };
  const write = process.stderr.write.bind(process.stderr);
  const to = (level: 'info' | 'warn' | 'error') => (...args: unknown[]) => log[level]('console', { message: format(...args) });
  console.log = to('info');
  console.info = to('info');
  console.debug = to('info');
  console.warn = to('warn');
  console.error = to('error');
  process.stderr.write = ((chunk: string | Uint8Array) => {
    log.warn('stderr', { message: String(chunk) });
    return true;
  }) as typeof process.stderr.write;
  process.on('warning', (w) => log.warn('node.warning', { message: w.message }));
  return () => {
    Object.assign(console, saved);
    process.stderr.write = write;
  };
}

async function main(): Promise<void> {
  const parsed = parseClientArgs(process.argv.slice(2));
  if (parsed.isErr()) die(`${parsed.error.message}\nTry --help.`, 2);
  const cfg = parsed._unsafeUnwrap();
  if (cfg === 'help') {
    process.stdout.write(HELP + '\n');
    return;
  }
  if (!process.stdin.isTTY || !process.stdout.isTTY) die('the terminal client needs an interactive terminal (stdin and stdout must be a TTY)', 2);

  const dir = ensureDir(cfg.dataDir);
  if (dir.isErr()) die(dir.error.message, 1);
  const dataDir = dir._unsafeUnwrap();
  const log = createLogger({ file: join(dataDir, 'client.log'), level: cfg.logLevel, base: { proc: 'client', pid: process.pid } });

  let host = cfg.server.host;
  if (!isIP(host)) {
    try {
      host = (await lookup(host)).address;
    } catch (e) {
      die(`cannot resolve the server name ${cfg.server.host}: ${(e as Error).message}`, 1);
    }
  }

  let inspector: RunningInspector | null = null;
  const notices: string[] = [];
  if (cfg.inspect) {
    const warning = inspectWarning(cfg.inspect);
    if (warning) notices.push(warning);
    try {
      inspector = await startConfiguredInspector(cfg.inspect, { logger: log.child({ part: 'inspector' }), title: 'truco client' });
    } catch (e) {
      die(`cannot start the inspector: ${(e as Error).message}`, 1);
    }
  }

  let client;
  try {
    client = await createChatClient({
      server: { host, port: cfg.server.port },
      dataDir,
      logger: log.child({ part: 'client' }),
      ...(cfg.serverKey ? { serverKey: cfg.serverKey } : {}),
      ...(inspector ? { inspect: inspector.inspect } : {}),
    });
  } catch (e) {
    die((e as Error).message, 1);
  }
  const c = client!;
  log.info('client.started', { server: cfg.serverText, address: c.address, lang: cfg.lang });

  const restore = captureOutput(log);
  const screen = createScreen({ title: 'truco' });
  const finish = async (code: number) => {
    await inspector?.stop();
    restore();
    await log.close();
    process.exit(code);
  };
  const app = startApp({
    client: c,
    chat: c,
    screen,
    t: strings(cfg.lang),
    server: cfg.serverText,
    knownServersFile: join(dataDir, KNOWN_SERVERS_FILE),
    history: (email) => openHistory(dataDir, email),
    inspectorUrl: inspector?.url ?? null,
    bell: cfg.bell,
    log: log.child({ part: 'ui' }),
    notices,
    onQuit: () => void finish(0),
  });

  for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.on(sig, () => void app.quit());
  process.on('uncaughtException', (e) => {
    log.error('ui.crash', { error: e.stack ?? e.message });
    try {
      screen.destroy();
    } catch {
      // the terminal is being torn down anyway
    }
    restore();
    process.stderr.write(`truco: internal error: ${e.message} (details in ${join(dataDir, 'client.log')})\n`);
    void log.close().then(() => process.exit(1));
  });
}

void main();
