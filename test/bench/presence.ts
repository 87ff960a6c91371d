/**
 * `presence`: the real server in its own process, N simulated clients in load-generator
 * processes (loadgen.ts), each with its own socket, logged in through the real handshake and
 * answering every TRUCO; held `--seconds` at the default 1 s interval. Compared with a raw
 * node:dgram echo measured in the same run (raw-echo.ts).
 *
 *   node --import tsx test/bench/presence.ts [--clients 1000,5000,10000,20000] [--seconds 60]
 *        [--max] [--json] [--per-shard 10000] [--profile DIR] [--server-flags '--flag …']
 *
 * The measuring window has two halves. First no churn: presence bytes, heartbeat pairs and
 * probe drift are counted there. Then churn: a spare account joins, later leaves, every 5 s,
 * and join_leave_p99_ms is the 99th percentile over all clients and events of the time from
 * the event (the joiner's AUTH_RESULT, the leaver's BYE) to the delta arriving. False evictions
 * (a KICK, a STALE or a LEAVE for a client that answered every probe) count over the whole run.
 * CPU and RSS are read from /proc; rss_per_user_kb = (median RSS over the held window, read once a
 * second − RSS of the idle server − the growth of V8's young generation) / N. The young generation's
 * resident size (the server reports it in its stats line) goes from ~8 MB when idle to its cap of
 * 2 × 8 MB semi-spaces as soon as anyone is online, whatever N: a fixed cost, not a user's. Counted
 * per user it made 1 000 users look like 14 KB each; the figure with it is printed beside.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareAccounts, type BenchAccount } from './accounts.ts';
import { cpuMeter, Histogram, load1, median, parseArgs, quantile, round, rssMb, say, sleep, startWorker, table, type Worker } from './lib.ts';
import { rawEcho } from './raw-echo.ts';
import { startBenchServer } from './server.ts';

export interface PresenceResult {
  bench: 'presence';
  clients: number;
  seconds: number;
  false_evictions: number;
  server_cpu_pct: number;
  server_rss_mb: number;
  rss_per_user_kb: number;
  presence_bytes_per_client_s: number;
  join_leave_p99_ms: number;
  raw_echo_pairs_per_s: number;
  heartbeat_pairs_per_s: number;
  ratio_vs_raw: number;
}

/** What the bench saw besides the figures (printed, never in the JSON object). */
export interface PresenceDiag {
  load1: number;
  loginS: number;
  loginFailed: number;
  loadgenCpuPct: number;
  driftP99Ms: number;
  joinLeaveSamples: number;
  joinLeaveMissing: number;
  /** false evictions while logging in and settling, before the measured window */
  rampEvictions: number;
}

export interface PresenceOptions {
  clients: number;
  seconds: number;
  intervalMs?: number;
  /** measured once per run and passed in; measured here when absent */
  rawPairs?: number;
  perShard?: number;
  /** writes a V8 CPU profile of the server into this directory */
  profileDir?: string;
  /** extra node flags for the server process (experiments: a production setting belongs in the server) */
  serverFlags?: string[];
  log?: (line: string) => void;
}

const SPARES = 8;
/** logins started per second during the ramp (all shards together) */
const RAMP_PER_S = 250;
/** nice value of the server process (see startBenchServer's call) */
const SERVER_PRIORITY = -5;

interface ShardStats {
  clients: number;
  online: number;
  seconds: number;
  bytesIn: number;
  trucos: number;
  evicted: string[];
  evictedBefore: string[];
  unexpectedLeaves: string[];
  drift: number[];
  cpuPct: number;
  failedLogins: number;
}

export async function runPresence(opts: PresenceOptions): Promise<{ result: PresenceResult; diag: PresenceDiag }> {
  const log = opts.log ?? (() => {});
  const n = opts.clients;
  const intervalMs = opts.intervalMs ?? 1000;
  const dir = mkdtempSync(join(tmpdir(), 'truco-bench-presence-'));
  let rawPairs = opts.rawPairs;
  if (rawPairs === undefined) {
    const raw = await rawEcho();
    rawPairs = await raw.pairsPerS();
    await raw.stop();
  }
  const t0 = performance.now();
  const accounts = await prepareAccounts(dir, n + SPARES);
  log(`  ${n} accounts and tickets written (scrypt N=2^8 for bench accounts) in ${round((performance.now() - t0) / 1000)} s`);
  const main = accounts.slice(0, n);
  const spares = accounts.slice(n);
  const server = await startBenchServer({
    dir,
    intervalMs,
    logLevel: 'info',
    // On a shared machine (the reference one runs other benches and test suites beside this one)
    // the server gets a fair share among every runnable process, a quarter of a core at a load of
    // 8, and falls behind reading its answers; a raised priority (root only) keeps it measuring
    // the server rather than its neighbours. The load generators keep the default.
    priority: SERVER_PRIORITY,
    // the stats line (and in it the young generation's size) once a second, not every 10 s
    args: ['--stats-interval', '1000'],
    nodeFlags: [...(opts.serverFlags ?? []), ...(opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [])],
  });
  const shards: Worker[] = [];
  try {
    // ---- the idle server's RSS, once its start-up is over ----------------------------------------
    // It still climbs for about a second after it listens (longer on a loaded machine); a reading
    // taken mid-climb put up to 20 MB of start-up into the per-user figure.
    await sleep(500);
    let idleRss = rssMb(server.pid);
    for (let i = 0; i < 20; i++) {
      await sleep(250);
      const r = rssMb(server.pid);
      if (Math.abs(r - idleRss) < 1) break;
      idleRss = r;
    }
    // and how much of V8's young generation is resident then, from the server's own stats line
    // (once a second; v8.getHeapSpaceStatistics' physical size of the new space)
    const statsUntil = performance.now() + 5000;
    while (server.statsLines().length === 0 && performance.now() < statsUntil) await sleep(100);
    // (none within 5 s: nothing is left out, rather than the whole young generation)
    const idleMem = server.statsLines().at(-1)?.mem;
    const idleYoung = idleMem?.newSpaceResident;
    log(`  idle server memory (MB): ${JSON.stringify(idleMem)}`);

    const perShard = opts.perShard ?? 10_000;
    const count = Math.max(1, Math.ceil(n / perShard));
    // with --profile the load generators are profiled too (into DIR/loadgen)
    const env: NodeJS.ProcessEnv | undefined = opts.profileDir ? { TRUCO_LOADGEN_PROFILE: join(opts.profileDir, 'loadgen') } : undefined;
    for (let i = 0; i < count; i++) shards.push(startWorker('loadgen.ts', [], { fds: perShard + SPARES + 1024, ...(env ? { env } : {}) }));
    await Promise.all(shards.map((w) => w.ask({ cmd: 'init', host: '127.0.0.1', port: server.port, serverKey: server.key, intervalMs, mode: 'ramp' })));
    await Promise.all(shards.map((w) => w.ask({ cmd: 'expect', leaves: spares.map((a) => a.email) })));

    // ---- ramp up: every client logs in (RESUME with its ticket) --------------------------------
    const tl = performance.now();
    const slices: BenchAccount[][] = shards.map((_, i) => main.filter((_, j) => j % count === i));
    const logins = await Promise.all(
      // at most RAMP_PER_S logins a second and 64 in flight: a ramp as fast as the HELLO admission
      // allows (server/admission.ts) overloads a 2-core machine that also runs the load generator,
      // and the number in flight slows it down when the server is busy
      shards.map((w, i) =>
        w.ask<{ ok: number; failed: number; errors: Record<string, number> }>({
          cmd: 'login',
          clients: slices[i],
          ratePerS: RAMP_PER_S / count,
          concurrency: Math.ceil(64 / count),
          progress: true,
          // nobody syncs the roster until the ramp is over ('resync' below)
          deferSync: true,
        }),
      ),
    );
    const loginS = (performance.now() - tl) / 1000;
    const loginFailed = logins.reduce((a, l) => a + l.failed, 0);
    log(`  ${n - loginFailed}/${n} clients online in ${round(loginS)} s${loginFailed ? ' ' + JSON.stringify(logins.map((l) => l.errors)) : ''}`);

    // ---- settle: every client acknowledges the same presence version -----------------------------
    // (a client that logged in early is thousands of deltas behind, 20 per probe: it resyncs)
    await sleep(intervalMs);
    await Promise.all(shards.map((w) => w.ask({ cmd: 'resync' })));
    const settleUntil = performance.now() + 60_000;
    while (performance.now() < settleUntil) {
      const v = await Promise.all(shards.map((w) => w.ask<{ counts: Record<string, number> }>({ cmd: 'versions' })));
      const merged: Record<string, number> = {};
      for (const s of v) for (const [k, c] of Object.entries(s.counts)) merged[k] = (merged[k] ?? 0) + c;
      const keys = Object.keys(merged);
      if (keys.length === 1 && keys[0]?.endsWith(':idle')) break;
      await sleep(500);
    }
    await sleep(2 * intervalMs);

    // ---- measure -----------------------------------------------------------------------------------
    await Promise.all(shards.map((w) => w.ask({ cmd: 'reset' })));
    await Promise.all(shards.map((w) => w.ask({ cmd: 'measure', on: true })));
    const cpu = cpuMeter(server.pid);
    const events0 = server.events();
    log(`  settled; server events so far: ${JSON.stringify(events0)}`);
    cpu.start();
    // the RSS once a second over the held window: one reading lands anywhere in the garbage
    // collector's cycle (the old generation and the sockets' buffers grow until a full collection),
    // so the figure is the median of the readings
    const rssSamples: number[] = [];
    const windowFrom = Date.now();
    const rssTimer = setInterval(() => rssSamples.push(rssMb(server.pid)), 1000);
    const quietS = Math.max(2, opts.seconds / 2);
    await sleep(quietS * 1000);
    const quiet = await Promise.all(shards.map((w) => w.ask<ShardStats>({ cmd: 'stats' })));

    // churn: a spare joins, then leaves, every 5 s (at least once)
    const churnS = Math.max(2 * (intervalMs / 1000) + 1, opts.seconds - quietS);
    const events = Math.max(1, Math.floor(churnS / 5));
    const spacing = (churnS * 1000) / events;
    const samples: number[] = [];
    let missing = 0;
    const tc = performance.now();
    for (let e = 0; e < events && e < spares.length; e++) {
      const spare = spares[e] as BenchAccount;
      const home = shards[e % shards.length] as Worker;
      await Promise.all(shards.map((w) => w.ask({ cmd: 'watch', email: spare.email, kind: 'join' })));
      const joined = await home.ask<{ ok: number; at: number }>({ cmd: 'login', clients: [spare], concurrency: 1 });
      if (joined.ok !== 1) {
        log(`  churn event ${e}: ${spare.email} could not log in; skipped`);
        continue;
      }
      await sleep(Math.min(spacing / 2, 2.5 * intervalMs));
      await Promise.all(shards.map((w) => w.ask({ cmd: 'watch', email: spare.email, kind: 'leave' })));
      const left = await home.ask<{ at: number }>({ cmd: 'leave', email: spare.email });
      const waitUntil = tc + (e + 1) * spacing;
      await sleep(Math.max(2.5 * intervalMs, waitUntil - performance.now()));
      for (const [kind, at] of [['join', joined.at], ['leave', left.at]] as const) {
        const seen = await Promise.all(shards.map((w) => w.ask<{ arrivals: number[] }>({ cmd: 'watched', email: spare.email, kind })));
        for (const s of seen) for (const a of s.arrivals) samples.push(Math.max(0, a - at));
        missing += Math.max(0, n - seen.reduce((a, s) => a + s.arrivals.length, 0));
      }
    }
    const end = await Promise.all(shards.map((w) => w.ask<ShardStats>({ cmd: 'stats' })));
    const cpuPct = cpu.stop();
    const events1 = server.events();
    log(`  server events in the window: ${JSON.stringify(Object.fromEntries(Object.entries(events1).map(([k, v]) => [k, v - (events0[k] ?? 0)]).filter(([, v]) => Number(v) > 0)))}`);
    clearInterval(rssTimer);
    rssSamples.push(rssMb(server.pid));
    const rss = median(rssSamples);
    const youngs = server.statsLines().filter((l) => l.t >= windowFrom && l.mem?.newSpaceResident !== undefined).map((l) => l.mem?.newSpaceResident as number);
    const youngGrowth = youngs.length && idleYoung !== undefined ? Math.max(0, median(youngs) - idleYoung) : 0;
    log(`  young generation resident: ${idleYoung === undefined ? '?' : round(idleYoung, 1)} MB idle, ${youngs.length ? round(median(youngs), 1) : '?'} MB over the window; KB/user with its growth counted ${round(((rss - idleRss) * 1024) / n, 2)}`);
    log(`  server RSS over the window (MB): median ${round(rss, 1)}, min ${round(Math.min(...rssSamples), 1)}, max ${round(Math.max(...rssSamples), 1)}, ${rssSamples.length} readings`);
    // what the RSS is made of, from the server's last stats line (server.stats, every second here)
    const mem = server.statsLines().at(-1)?.mem;
    if (mem) log(`  server memory (MB, last stats line): ${JSON.stringify(mem)}, idle rss ${round(idleRss, 1)}`);

    const evictedSet = new Set<string>();
    for (const s of end) for (const e of [...s.evicted, ...s.unexpectedLeaves]) evictedSet.add(e);
    const quietSeconds = median(quiet.map((s) => s.seconds));
    const bytes = quiet.reduce((a, s) => a + s.bytesIn, 0);
    const pairs = quiet.reduce((a, s) => a + s.trucos, 0);
    const drift = new Histogram(1, 10_000);
    for (const s of quiet) drift.merge(s.drift);
    const heartbeat = pairs / quietSeconds;
    const result: PresenceResult = {
      bench: 'presence',
      clients: n,
      seconds: opts.seconds,
      false_evictions: evictedSet.size,
      server_cpu_pct: round(cpuPct, 1),
      server_rss_mb: round(rss, 1),
      rss_per_user_kb: round(((rss - idleRss - youngGrowth) * 1024) / n, 2),
      presence_bytes_per_client_s: round(bytes / n / quietSeconds, 1),
      join_leave_p99_ms: round(quantile(samples, 0.99), 1),
      raw_echo_pairs_per_s: Math.round(rawPairs),
      heartbeat_pairs_per_s: Math.round(heartbeat),
      ratio_vs_raw: round(heartbeat / rawPairs, 3),
    };
    const diag: PresenceDiag = {
      load1: load1(),
      loginS: round(loginS, 1),
      loginFailed,
      loadgenCpuPct: round(end.reduce((a, s) => a + s.cpuPct, 0), 1),
      driftP99Ms: drift.quantile(0.99),
      joinLeaveSamples: samples.length,
      joinLeaveMissing: missing,
      rampEvictions: new Set(end.flatMap((s) => s.evictedBefore)).size,
    };
    return { result, diag };
  } finally {
    await Promise.all(shards.map((w) => w.ask({ cmd: 'stop' }, 10_000).catch(() => {})));
    await Promise.all(shards.map((w) => w.kill()));
    await server.kill(opts.profileDir ? 'SIGINT' : 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether a run holds: no false eviction, every client logged in, the server under one core. */
export const holds = (r: PresenceResult, d: PresenceDiag) => r.false_evictions === 0 && d.loginFailed === 0 && d.rampEvictions === 0 && r.server_cpu_pct <= 100;

export async function presenceMain(argv: string[] = process.argv.slice(2)): Promise<PresenceResult[]> {
  const f = parseArgs(argv);
  const json = f.has('json');
  const seconds = f.num('seconds', 60);
  const sizes = f.list('clients', [1000, 5000, 10_000, 20_000]);
  const profileDir = f.has('profile') ? f.str('profile', 'test/bench/profiles') : undefined;
  const raw = await rawEcho();
  const rawPairs = await raw.pairsPerS();
  await raw.stop();
  say(json, `presence: raw node:dgram echo ${Math.round(rawPairs)} pairs/s (median of 3), load ${load1()}`);
  const results: PresenceResult[] = [];
  const rows: Array<Record<string, string | number>> = [];
  const one = async (clients: number) => {
    say(json, `presence: ${clients} clients for ${seconds} s…`);
    const { result, diag } = await runPresence({
      clients,
      seconds,
      rawPairs,
      perShard: f.num('per-shard', 10_000),
      serverFlags: f.str('server-flags', '').split(' ').filter(Boolean),
      ...(profileDir ? { profileDir } : {}),
      log: (l) => say(json, l),
    });
    results.push(result);
    if (json) process.stdout.write(JSON.stringify(result) + '\n');
    say(json, `  load ${diag.load1}, load generator ${diag.loadgenCpuPct}% CPU, probe drift p99 ${diag.driftP99Ms} ms, join/leave samples ${diag.joinLeaveSamples} (${diag.joinLeaveMissing} missing), false evictions during the ramp ${diag.rampEvictions}`);
    rows.push({
      clients,
      'false ev.': result.false_evictions,
      'cpu %': result.server_cpu_pct,
      'rss MB': result.server_rss_mb,
      'KB/user': result.rss_per_user_kb,
      'B/client/s': result.presence_bytes_per_client_s,
      'join/leave p99 ms': result.join_leave_p99_ms,
      'pairs/s': result.heartbeat_pairs_per_s,
      'raw pairs/s': result.raw_echo_pairs_per_s,
      'vs raw': result.ratio_vs_raw,
      load: diag.load1,
    });
    return holds(result, diag);
  };
  for (const n of sizes) await one(n);
  if (f.has('max')) {
    // step N up from the largest size until a run fails to hold
    let best = Math.max(0, ...results.filter((r) => r.false_evictions === 0 && r.server_cpu_pct <= 100).map((r) => r.clients));
    let n = Math.max(...sizes);
    const ceiling = f.num('max-clients', 60_000);
    while (n < ceiling) {
      n = Math.round(n * 1.25 / 1000) * 1000;
      if (!(await one(n))) break;
      best = n;
    }
    if (json) process.stdout.write(JSON.stringify({ bench: 'presence_max', max_clients: best }) + '\n');
    say(json, `max_clients ${best} (held ${seconds} s with 0 false evictions under one core)`);
  }
  say(json, '\n' + table(rows));
  return results;
}

if (import.meta.filename === process.argv[1]) {
  await presenceMain();
  process.exit(0);
}
