/**
 * The bench report: one SVG with the server's CPU, RSS and presence bytes against N, and the chat
 * RTT against the raw baseline, drawn with Vega-Lite (compiled to Vega and rendered headless to
 * SVG in Node: no browser, no canvas, no network).
 *
 *   node --import tsx test/bench/report.ts test/bench/results.json [out.svg]
 *
 * (`npm run bench -- --report` writes results.json and report.svg next to this file.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { StormResult, PasswordResult } from './login-storm.ts';
import type { MessagingResult } from './messaging.ts';
import type { PresenceResult } from './presence.ts';

export interface BenchResults {
  date: string;
  machine: { nproc: number; cpu: string; memGiB: number; node: string };
  /** load average (1 min) when each part ran */
  load: Record<string, number>;
  presence: PresenceResult[];
  maxClients?: number;
  messaging?: MessagingResult;
  loginStorm?: StormResult;
  passwordLogins?: PasswordResult;
}

export function reportSpec(r: BenchResults): TopLevelSpec {
  const per = r.presence.map((p) => ({
    clients: p.clients,
    'server CPU (% of one core)': p.server_cpu_pct,
    'server RSS (MB)': p.server_rss_mb,
    'presence bytes per client per s': p.presence_bytes_per_client_s,
  }));
  const lineOf = (field: string, color: string, target?: number) => ({
    width: 260,
    height: 180,
    title: field,
    layer: [
      {
        mark: { type: 'line' as const, point: true, color },
        encoding: {
          x: { field: 'clients', type: 'quantitative' as const, title: 'online clients (N)' },
          y: { field, type: 'quantitative' as const, title: null, scale: { zero: true } },
        },
      },
      ...(target === undefined
        ? []
        : [
            {
              mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#999' },
              encoding: { y: { datum: target, type: 'quantitative' as const } },
            },
          ]),
    ],
  });
  const rtt = r.messaging
    ? [
        { what: 'raw dgram echo p50', us: r.messaging.raw_rtt_p50_us },
        { what: 'truco chat p50', us: r.messaging.rtt_p50_us },
        { what: 'truco chat p99', us: r.messaging.rtt_p99_us },
      ]
    : [];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `truco benchmarks — ${r.machine.nproc} cores, ${r.machine.cpu}, ${r.machine.memGiB} GiB, Node ${r.machine.node}`,
      subtitle: `${r.date}; load average during the runs: ${Object.entries(r.load)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; dashed lines: targets`,
    },
    vconcat: [
      {
        data: { values: per },
        hconcat: [lineOf('server CPU (% of one core)', '#d62728', 100), lineOf('server RSS (MB)', '#1f77b4')],
      },
      {
        hconcat: [
          { data: { values: per }, ...lineOf('presence bytes per client per s', '#2ca02c', 100) },
          {
            data: { values: rtt },
            width: 260,
            height: 180,
            title: 'chat round trip vs raw UDP (µs)',
            mark: { type: 'bar', color: '#9467bd' },
            encoding: {
              y: { field: 'what', type: 'nominal', title: null, sort: null },
              x: { field: 'us', type: 'quantitative', title: 'µs' },
            },
          },
        ],
      },
    ],
  } as TopLevelSpec;
}

export async function renderReport(r: BenchResults, out: string): Promise<void> {
  const view = new vega.View(vega.parse(compile(reportSpec(r)).spec), { renderer: 'none' });
  writeFileSync(out, await view.toSVG());
  view.finalize();
}

if (import.meta.filename === process.argv[1]) {
  const [input = 'test/bench/results.json', out = 'test/bench/report.svg'] = process.argv.slice(2);
  await renderReport(JSON.parse(readFileSync(input, 'utf8')) as BenchResults, out);
  console.log(`wrote ${out}`);
}
