/**
 * `messaging`: two real clients (runtime/client.ts) on loopback, each in its own process, with
 * the real server; against a raw node:dgram echo between two processes in the same run.
 *
 *   node --import tsx test/bench/messaging.ts [--n 500] [--seconds 2] [--runs 3] [--json]
 *
 * - rtt: `client.send()` of a 100-character message → its line turns `delivered` (the peer's
 *   ACK came back and was opened, and listeners were told at the end of that pass of the event
 *   loop; the conversation machine takes it within 2 ms, SETTLE_MS): delivery engine, framing, ChaCha20-Poly1305 both ways, UDP, the peer's
 *   reassembly and ACK. One message at a time, `--n` of them after a warm-up.
 *   Raw: one datagram of the same size as the chat datagram, echoed.
 * - throughput: a sliding window of WINDOW (64) messages in flight — each one that turns
 *   `delivered` is replaced by a new one — counted over `--seconds` after a 0.5 s warm-up:
 *   acknowledged messages per second. Raw: the echo with 64 datagrams of the same size in flight,
 *   each echo answered by a new send, over the same time.
 * Each run also prints the CPU time (user + system) each client process spent per message, in each
 * phase: it tells one process's work from the other's and from waiting. It moves with the VM's
 * state as the timings do (up to 2x from one minute to the next here): compare code in turns.
 * Each figure is the median of `--runs` runs, after a warm-up of both phases; raw and truco are
 * measured in alternation, run by run, so that both see the machine of the same minute.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChatClient, type ChatClient } from '../../runtime/client.ts';
import { load1, median, parseArgs, quantile, round, say, startWorker, table } from './lib.ts';
import { rawEcho } from './raw-echo.ts';
import { startBenchServer } from './server.ts';

export interface MessagingResult {
  bench: 'messaging';
  rtt_p50_us: number;
  rtt_p99_us: number;
  raw_rtt_p50_us: number;
  msgs_per_s: number;
  raw_msgs_per_s: number;
  rtt_ratio: number;
  throughput_ratio: number;
}

const TEXT = 'x'.repeat(100);
/** a 100-byte message in one CHAT datagram: 18-byte peer header, 18-byte CHAT header, 16-byte tag */
const CHAT_DATAGRAM = 100 + 18 + 18 + 16;
const PASSWORD = 'bench password 1234';
/** messages in flight in the throughput run: the delivery engine's window, and the raw echo's */
const WINDOW = 64;
/** in-flight lines are among the last ones of the conversation (only this client appends to it) */
const TAIL = 4 * WINDOW;

export async function runMessaging(
  opts: {
    n?: number;
    seconds?: number;
    /** smoke runs: the windowed phase also ends once this many messages were delivered */
    burst?: number;
    runs?: number;
    log?: (l: string) => void;
  } = {},
): Promise<MessagingResult> {
  const n = opts.n ?? 500;
  const seconds = opts.seconds ?? 2;
  const most = opts.burst ?? Infinity;
  const runs = opts.runs ?? 3;
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'truco-bench-messaging-'));

  // The physical limit, measured run by run in alternation with truco (below): the raw round trip
  // on this VM moves between ~55 and ~140 µs from one minute to the next, and a baseline taken
  // only before truco's runs compared them with another moment's machine. The echo processes wait
  // on their IPC channel meanwhile, taking no CPU. One warm-up of both raw phases first, as truco
  // has its own (a fresh pair's first runs are its slowest).
  const raw = await rawEcho();
  const rawP50: number[] = [];
  const rawRates: number[] = [];
  let server: Awaited<ReturnType<typeof startBenchServer>> | null = null;
  let peer: ReturnType<typeof startWorker> | null = null;
  let a: ChatClient | null = null;
  try {
    await raw.rttUs({ n: Math.min(n, 500), size: CHAT_DATAGRAM });
    await raw.pairsPerS({ seconds: Math.min(seconds, 0.5), window: WINDOW, size: CHAT_DATAGRAM, runs: 1 });
    server = await startBenchServer({ dir });
    const far = (peer = startWorker('chat-peer.ts'));
    await peer.ask({ cmd: 'start', host: '127.0.0.1', port: server.port, email: 'b@bench.test', password: PASSWORD, dataDir: join(dir, 'b') });
    a = await createChatClient({ server: { host: '127.0.0.1', port: server.port }, dataDir: join(dir, 'a') });
    const me = a;
    me.signUp('a@bench.test', PASSWORD);
    await me.waitFor((s) => s.matches('online') && s.context.roster.members.has('b@bench.test'), 30_000);
    me.openConversation('b@bench.test');
    await me.waitFor(() => me.conversations().get('b@bench.test')?.canSend === true, 10_000);

    // the messages waiting for their line to turn 'delivered', looked for in the conversation's
    // last lines once per burst of view updates
    const waiting = new Map<string, () => void>();
    let scanQueued = false;
    const scan = () => {
      scanQueued = false;
      const lines = me.conversations().get('b@bench.test')?.lines ?? [];
      for (let i = lines.length - 1, k = 0; i >= 0 && k < TAIL && waiting.size > 0; i--, k++) {
        const l = lines[i]!;
        if (l.kind !== 'message' || l.state !== 'delivered') continue;
        const resolve = waiting.get(l.id);
        if (resolve) {
          waiting.delete(l.id);
          resolve();
        }
      }
    };
    me.subscribeConversations(() => {
      if (waiting.size === 0 || scanQueued) return;
      scanQueued = true;
      queueMicrotask(scan);
    });
    const sendOne = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const r = me.send('b@bench.test', TEXT);
        if (r.isErr()) return reject(new Error(`send: ${r.error.reason}`));
        waiting.set(r.value, resolve);
      });

    /**
     * WINDOW messages in flight for `ms` (or until `max` were delivered), each delivered one
     * replaced by a new one. Resolves once the last ones in flight are delivered too, with how many
     * were delivered in time and when the time (or `max`) was reached.
     */
    const windowed = (ms: number, max = Infinity): Promise<{ delivered: number; at: number }> =>
      new Promise((resolve, reject) => {
        let delivered = 0;
        let at = 0;
        let inFlight = 0;
        const close = () => {
          if (at === 0) at = performance.now();
        };
        const one = () => {
          inFlight++;
          sendOne().then(() => {
            inFlight--;
            if (at === 0) {
              delivered++;
              if (delivered >= max) close();
            }
            if (at === 0) one();
            else if (inFlight === 0) resolve({ delivered, at });
          }, reject);
        };
        for (let i = 0; i < WINDOW; i++) one();
        setTimeout(close, ms);
      });

    // CPU time (user + system) of the sending process (this one) and of the receiving one
    const cpuNow = async (): Promise<[number, number]> => {
      const u = process.cpuUsage();
      const theirs = await far.ask<{ us: number }>({ cmd: 'cpu' });
      return [u.user + u.system, theirs.us];
    };
    const perMessage = (a: [number, number], b: [number, number], count: number): string =>
      `${round((b[0] - a[0]) / count, 1)} / ${round((b[1] - a[1]) / count, 1)}`;
    const p50: number[] = [];
    const p99: number[] = [];
    const rates: number[] = [];
    // Warm-up once, both ways of sending, so that run 1 does not measure the JIT compiling the
    // client (the raw echo's warm-up is a loop of a few lines).
    await windowed(seconds * 1000, most);
    for (let i = 0; i < 300; i++) await sendOne();
    for (let r = 0; r < runs; r++) {
      rawP50.push(quantile(await raw.rttUs({ n, size: CHAT_DATAGRAM }), 0.5));
      rawRates.push(await raw.pairsPerS({ seconds, window: WINDOW, size: CHAT_DATAGRAM, runs: 1 }));
      for (let i = 0; i < 100; i++) await sendOne();
      const samples: number[] = [];
      const cpu0 = await cpuNow();
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await sendOne();
        samples.push((performance.now() - t) * 1000);
      }
      const rttCpu = perMessage(cpu0, await cpuNow(), n);
      p50.push(quantile(samples, 0.5));
      p99.push(quantile(samples, 0.99));
      await windowed(500, most);
      const cpu1 = await cpuNow();
      const t = performance.now();
      const { delivered, at } = await windowed(seconds * 1000, most);
      // counted to the end of the window's last deliveries, like the CPU
      const windowCpu = perMessage(cpu1, await cpuNow(), delivered + WINDOW);
      rates.push(delivered / ((at - t) / 1000));
      log(
        `  run ${r + 1}: rtt p50 ${round(p50[r] ?? NaN, 0)} µs (raw ${round(rawP50[r] ?? NaN, 0)}), p99 ${round(p99[r] ?? NaN, 0)} µs, ${round(rates[r] ?? NaN, 0)} msgs/s (raw ${round(rawRates[r] ?? NaN, 0)}); ` +
          `CPU per message, sender / receiver: ${rttCpu} µs one at a time, ${windowCpu} µs windowed`,
      );
    }
    const rttP50 = median(p50);
    const rawRtt = median(rawP50);
    const msgs = median(rates);
    const rawMsgs = median(rawRates);
    return {
      bench: 'messaging',
      rtt_p50_us: round(rttP50, 0),
      rtt_p99_us: round(median(p99), 0),
      raw_rtt_p50_us: round(rawRtt, 0),
      msgs_per_s: round(msgs, 0),
      raw_msgs_per_s: round(rawMsgs, 0),
      rtt_ratio: round(rttP50 / rawRtt, 2),
      throughput_ratio: round(msgs / rawMsgs, 3),
    };
  } finally {
    await a?.stop();
    await peer?.kill();
    await server?.kill();
    await raw.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function messagingMain(argv: string[] = process.argv.slice(2)): Promise<MessagingResult> {
  const f = parseArgs(argv);
  const json = f.has('json');
  say(json, `messaging: load ${load1()}`);
  const r = await runMessaging({ n: f.num('n', 500), seconds: f.num('seconds', 2), runs: f.num('runs', 3), log: (l) => say(json, l) });
  if (json) process.stdout.write(JSON.stringify(r) + '\n');
  say(
    json,
    '\n' +
      table([
        { what: 'rtt p50 µs', truco: r.rtt_p50_us, raw: r.raw_rtt_p50_us, ratio: r.rtt_ratio },
        { what: 'rtt p99 µs', truco: r.rtt_p99_us, raw: '', ratio: '' },
        { what: 'msgs/s', truco: r.msgs_per_s, raw: r.raw_msgs_per_s, ratio: r.throughput_ratio },
      ]),
  );
  return r;
}

if (import.meta.filename === process.argv[1]) {
  await messagingMain();
  process.exit(0);
}
