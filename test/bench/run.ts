/**
 * `npm run bench -- [flags]`: every benchmark, figures printed as tables (and one JSON object per
 * benchmark on stdout with --json), each ratio against a raw node:dgram baseline measured in the
 * same run.
 *
 *   --only presence,messaging,storm   a subset (default: all three)
 *   --clients 1000,5000,10000,20000   presence sizes;  --seconds 60   how long each is held
 *   --max                             presence: step N up until it fails (prints max_clients)
 *   --storm-clients 10000             login storm size
 *   --smoke                           the small version (N = 200, 5 s) that `npm test` runs
 *   --report [file.svg]               also write results.json and the chart (test/bench/report.svg)
 *   --json
 * With BENCH_CPU_PROF=DIR in the environment every worker process (load generators, chat peer,
 * raw echo) runs under `node --cpu-prof` and writes its profile to DIR (test/bench/lib.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, load1, machine, parseArgs, say } from './lib.ts';
import { runLoginStorm } from './login-storm.ts';
import { runMessaging } from './messaging.ts';
import { holds, runPresence, type PresenceResult } from './presence.ts';
import { rawEcho } from './raw-echo.ts';
import { renderReport, type BenchResults } from './report.ts';
import { table } from './lib.ts';

const argv = process.argv.slice(2);
const f = parseArgs(argv);
const json = f.has('json');
const smoke = f.has('smoke');
const only = new Set(f.str('only', 'presence,messaging,storm').split(','));
const out = (o: object) => json && process.stdout.write(JSON.stringify(o) + '\n');
const log = (l: string) => say(json, l);

const results: BenchResults = { date: new Date().toISOString(), machine: machine(), load: {}, presence: [] };
say(json, `truco benchmarks on ${results.machine.nproc} cores (${results.machine.cpu}), ${results.machine.memGiB} GiB, Node ${results.machine.node}`);
if (smoke) say(json, 'smoke run: N = 200, 5 s (not figures to quote)');

if (only.has('presence')) {
  const sizes = smoke ? [200] : f.list('clients', [1000, 5000, 10_000, 20_000]);
  const seconds = smoke ? 5 : f.num('seconds', 60);
  const raw = await rawEcho();
  const rawPairs = await raw.pairsPerS(smoke ? { seconds: 0.5, runs: 1 } : {});
  await raw.stop();
  say(json, `\npresence: raw node:dgram echo ${Math.round(rawPairs)} pairs/s, ${seconds} s per size, load ${load1()}`);
  const rows: Array<Record<string, string | number>> = [];
  const run = async (clients: number): Promise<boolean> => {
    say(json, `presence: ${clients} clients…`);
    const { result, diag } = await runPresence({ clients, seconds, rawPairs, log });
    results.presence.push(result);
    results.load[`presence ${clients}`] = diag.load1;
    out(result);
    say(json, `  load ${diag.load1}, load generator ${diag.loadgenCpuPct}% CPU, login ${diag.loginS} s, probe drift p99 ${diag.driftP99Ms} ms, false evictions during the ramp ${diag.rampEvictions}`);
    rows.push(row(result, diag.load1));
    return holds(result, diag);
  };
  for (const n of sizes) await run(n);
  if (f.has('max') && !smoke) {
    let best = Math.max(0, ...results.presence.filter((r) => r.false_evictions === 0 && r.server_cpu_pct <= 100).map((r) => r.clients));
    let n = Math.max(...sizes);
    while (n < f.num('max-clients', 60_000)) {
      n = Math.round((n * 1.25) / 1000) * 1000;
      if (!(await run(n))) break;
      best = n;
    }
    results.maxClients = best;
    out({ bench: 'presence_max', max_clients: best });
    say(json, `max_clients ${best}`);
  }
  say(json, '\n' + table(rows));
}

if (only.has('messaging')) {
  say(json, `\nmessaging: load ${load1()}`);
  const m = await runMessaging(smoke ? { n: 50, burst: 100, runs: 1, log } : { log });
  results.messaging = m;
  results.load.messaging = load1();
  out(m);
  say(json, table([{ 'rtt p50 µs': m.rtt_p50_us, 'rtt p99 µs': m.rtt_p99_us, 'raw p50 µs': m.raw_rtt_p50_us, 'rtt ratio': m.rtt_ratio, 'msgs/s': m.msgs_per_s, 'raw msgs/s': m.raw_msgs_per_s, 'throughput ratio': m.throughput_ratio }]));
}

if (only.has('storm')) {
  const clients = smoke ? 200 : f.num('storm-clients', 10_000);
  say(json, `\nlogin_storm: ${clients} clients, load ${load1()}`);
  const { storm, password, diag } = await runLoginStorm({ clients, passwordSeconds: smoke ? 2 : 10, log });
  results.loginStorm = storm;
  results.passwordLogins = password;
  results.load['login storm'] = diag.load1;
  out(storm);
  out(password);
  say(json, `  restarted server listening ${diag.spawnToReadyMs} ms after its spawn (not counted); password logins failed ${diag.passwordFailed}`);
  say(json, table([{ clients: storm.clients, 'all online ms': storm.all_online_ms, 'roster complete ms': storm.roster_complete_ms, failed: storm.failed_logins, 'drift p99 ms': storm.probe_drift_p99_ms, 'password logins/s': password.password_logins_per_s, 'drift p99 ms (passwords)': password.probe_drift_p99_ms }]));
}

if (f.has('report')) {
  const given = f.str('report', '');
  const svg = given.endsWith('.svg') ? given : join(BENCH_DIR, 'report.svg');
  writeFileSync(join(BENCH_DIR, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  await renderReport(results, svg);
  say(json, `\nwrote ${svg} and ${join(BENCH_DIR, 'results.json')}`);
}
process.exit(0);

function row(r: PresenceResult, load: number): Record<string, string | number> {
  return {
    clients: r.clients,
    'false ev.': r.false_evictions,
    'cpu %': r.server_cpu_pct,
    'rss MB': r.server_rss_mb,
    'KB/user': r.rss_per_user_kb,
    'B/client/s': r.presence_bytes_per_client_s,
    'join/leave p99 ms': r.join_leave_p99_ms,
    'pairs/s': r.heartbeat_pairs_per_s,
    'raw pairs/s': r.raw_echo_pairs_per_s,
    'vs raw': r.ratio_vs_raw,
    load,
  };
}
