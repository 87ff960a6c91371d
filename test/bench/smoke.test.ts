/**
 * The benches in miniature (N = 200, 5 s), so they never rot: each runs end to end against the
 * real server process and its JSON object has every field, with sane values. Not figures to
 * quote: `npm run bench` measures (test/bench/run.ts).
 */
import { describe, expect, it } from 'vitest';
import { runLoginStorm } from './login-storm.ts';
import { runMessaging } from './messaging.ts';
import { runPresence } from './presence.ts';
import { rawEcho } from './raw-echo.ts';

const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

describe('bench smoke (N = 200, 5 s)', () => {
  it('presence: 200 clients held 5 s, no false eviction, every field present and sane', async () => {
    const raw = await rawEcho();
    const rawPairs = await raw.pairsPerS({ seconds: 0.5, runs: 1 });
    await raw.stop();
    const { result: r } = await runPresence({ clients: 200, seconds: 5, rawPairs });
    expect(Object.keys(r).sort()).toEqual(
      ['bench', 'clients', 'seconds', 'false_evictions', 'server_cpu_pct', 'server_rss_mb', 'rss_per_user_kb', 'presence_bytes_per_client_s', 'join_leave_p99_ms', 'raw_echo_pairs_per_s', 'heartbeat_pairs_per_s', 'ratio_vs_raw'].sort(),
    );
    expect(r).toMatchObject({ bench: 'presence', clients: 200, seconds: 5, false_evictions: 0 });
    for (const k of ['server_cpu_pct', 'server_rss_mb', 'presence_bytes_per_client_s', 'join_leave_p99_ms', 'raw_echo_pairs_per_s', 'heartbeat_pairs_per_s', 'ratio_vs_raw'] as const) expect(positive(r[k]), k).toBe(true);
    expect(Number.isFinite(r.rss_per_user_kb)).toBe(true);
    // one probe a second each, and nothing else without churn: a TRUCO is 49 bytes
    expect(r.heartbeat_pairs_per_s).toBeGreaterThan(150);
    expect(r.presence_bytes_per_client_s).toBeLessThan(100);
  }, 90_000);

  it('messaging: two real clients, ratios against the raw echo', async () => {
    const r = await runMessaging({ n: 50, burst: 100, runs: 1 });
    expect(Object.keys(r).sort()).toEqual(['bench', 'rtt_p50_us', 'rtt_p99_us', 'raw_rtt_p50_us', 'msgs_per_s', 'raw_msgs_per_s', 'rtt_ratio', 'throughput_ratio'].sort());
    expect(r.bench).toBe('messaging');
    for (const [k, v] of Object.entries(r)) if (k !== 'bench') expect(positive(v), k).toBe(true);
    expect(r.rtt_p99_us).toBeGreaterThanOrEqual(r.rtt_p50_us);
  }, 90_000);

  it('login storm: 200 clients back after a SIGKILL, none failed; password logins go on', async () => {
    const { storm, password } = await runLoginStorm({ clients: 200, passwordSeconds: 2 });
    expect(Object.keys(storm).sort()).toEqual(['bench', 'clients', 'all_online_ms', 'roster_complete_ms', 'failed_logins', 'probe_drift_p99_ms'].sort());
    expect(storm).toMatchObject({ bench: 'login_storm', clients: 200, failed_logins: 0 });
    expect(Number.isFinite(storm.all_online_ms) && storm.all_online_ms >= 0).toBe(true);
    expect(storm.roster_complete_ms).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(storm.probe_drift_p99_ms)).toBe(true);
    expect(Object.keys(password).sort()).toEqual(['bench', 'password_logins_per_s', 'probe_drift_p99_ms'].sort());
    expect(positive(password.password_logins_per_s)).toBe(true);
  }, 90_000);
});
