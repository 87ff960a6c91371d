/**
 * `npm run server -- [flags]`: the truco server host. Prints `listening on
 * HOST:PORT` and the key fingerprint, logs one JSON line per event to stderr,
 * shuts down cleanly on SIGINT/SIGTERM. Bad flags: a clear error, exit 2.
 */
import { dirname, join } from 'node:path';
import { loadOrCreateServerKey } from '../runtime/crypto/keyfile.ts';
import { tuneHeap } from '../runtime/heap.ts';
import { createLogger } from '../runtime/log.ts';
import { formatAddress } from '../runtime/udp.ts';
import { openAccountStore } from './accounts.ts';
import { inspectorBanner, inspectWarning, startConfiguredInspector, type RunningInspector } from '../runtime/inspector/config.ts';
import { HELP, parseServerArgs } from './config.ts';
import { startHost } from './host.ts';

async function main(): Promise<void> {
  const args = parseServerArgs(process.argv.slice(2));
  if (args.isErr()) {
    process.stderr.write(`truco server: ${args.error.message}\nTry --help.\n`);
    process.exit(2);
  }
  if (args.value === 'help') {
    process.stdout.write(HELP + '\n');
    return;
  }
  const cfg = args.value;
  // short young collections with immutable snapshots copied on every transition (runtime/heap.ts)
  tuneHeap();
  const log = createLogger({ level: cfg.logLevel, base: { proc: 'server' } });

  const store = openAccountStore(cfg.db);
  if (store.isErr()) {
    process.stderr.write(`truco server: cannot open the database ${cfg.db}: ${store.error.message}\n`);
    process.exit(1);
  }
  const keyPath = join(dirname(cfg.db), 'server.key');
  const key = await loadOrCreateServerKey(keyPath);
  if (key.isErr()) {
    const e = key.error;
    const why = e.type === 'KeyFileTooOpen' ? `it is readable by other users (mode ${e.mode.toString(8)}); run chmod 600 ${e.path}` : e.message;
    process.stderr.write(`truco server: cannot use the server key ${keyPath}: ${why}\n`);
    process.exit(1);
  }

  // The inspector starts first: its observer must be given to the registry when it is created.
  let inspector: RunningInspector | null = null;
  if (cfg.inspect) {
    const warning = inspectWarning(cfg.inspect);
    if (warning) process.stderr.write(`truco server: warning: ${warning}\n`);
    try {
      inspector = await startConfiguredInspector(cfg.inspect, { logger: log, title: 'truco server' });
    } catch (e) {
      process.stderr.write(`truco server: ${(e as Error).message}\n`);
      process.exit(1);
    }
  }

  let host;
  try {
    host = await startHost({
      host: cfg.host,
      port: cfg.port,
      store: store.value,
      key: key.value,
      logger: log,
      intervalMs: cfg.intervalMs,
      misses: cfg.misses,
      suspectProbes: cfg.suspectProbes,
      suspectIntervalMs: cfg.suspectIntervalMs,
      signupsPerHour: cfg.signupsPerHour,
      statsIntervalMs: cfg.statsIntervalMs,
      // the online list survives a restart (server/presence-journal.ts)
      presenceFile: join(dirname(cfg.db), 'presence.journal'),
      ...(inspector ? { inspect: inspector.inspect } : {}),
    });
  } catch (e) {
    await inspector?.stop();
    process.stderr.write(`truco server: cannot listen on ${cfg.host}:${cfg.port}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening on ${formatAddress(host.address)}\n`);
  process.stdout.write(`server key ${host.fingerprint}\n`);
  if (inspector) process.stdout.write(`${inspectorBanner(inspector)}\n`);
  log.info('server.started', { address: formatAddress(host.address), fingerprint: host.fingerprint, db: cfg.db, nodeFlags: process.execArgv });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('server.stopping', { signal });
    await host.stop();
    await inspector?.stop();
    store.value.close();
    await log.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

void main();
