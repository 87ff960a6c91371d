/**
 * The physical limit the benches compare against: a raw `node:dgram` echo between two processes
 * on loopback, with nothing in between (no codec, no crypto, no state machines).
 *
 * As a child process (`raw-echo.ts`, IPC): answers {cmd:'serve'} by binding an echo socket, and
 * {cmd:'throughput'|'pingpong', port, …} by measuring against an echo socket of another process.
 * As a library: `rawEcho()` starts two such processes and measures between them.
 *
 * - throughput: `window` datagrams of `size` bytes in flight, each echo answered by a new send,
 *   counted over `seconds` after a warm-up: echo round trips (pairs) per second at saturation.
 * - pingpong: one datagram in flight, `n` times: the round-trip time, in µs.
 */
import dgram from 'node:dgram';
import { median, quantile, serveRequests, startWorker, type Worker } from './lib.ts';

function bind(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((r) => s.bind(0, '127.0.0.1', () => r(s)));
}

async function throughput(port: number, seconds: number, window: number, size: number): Promise<number> {
  const s = await bind();
  try {
    s.setRecvBufferSize(4 << 20);
  } catch {
    /* best effort */
  }
  const payload = Buffer.alloc(size, 0x61);
  let counting = false;
  let count = 0;
  s.on('message', () => {
    if (counting) count++;
    s.send(payload, port, '127.0.0.1');
  });
  for (let i = 0; i < window; i++) s.send(payload, port, '127.0.0.1');
  // lost datagrams (a full buffer) shrink the window: top it up every 50 ms
  let last = 0;
  let seen = 0;
  const topUp = setInterval(() => {
    if (seen === last) for (let i = 0; i < window; i++) s.send(payload, port, '127.0.0.1');
    last = seen;
  }, 50);
  s.on('message', () => seen++);
  await new Promise((r) => setTimeout(r, 500));
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const pairs = count / ((performance.now() - t0) / 1000);
  clearInterval(topUp);
  s.close();
  return pairs;
}

async function pingpong(port: number, n: number, size: number): Promise<number[]> {
  const s = await bind();
  const payload = Buffer.alloc(size, 0x62);
  const samples: number[] = [];
  const one = () =>
    new Promise<number>((resolve) => {
      const t0 = performance.now();
      const timer = setTimeout(() => resolve(NaN), 1000);
      s.once('message', () => {
        clearTimeout(timer);
        resolve((performance.now() - t0) * 1000);
      });
      s.send(payload, port, '127.0.0.1');
    });
  for (let i = 0; i < Math.min(200, n); i++) await one();
  for (let i = 0; i < n; i++) {
    const us = await one();
    if (Number.isFinite(us)) samples.push(us);
  }
  s.close();
  return samples;
}

export interface RawEcho {
  /** echo round trips per second at saturation (median of `runs`) */
  pairsPerS(opts?: { seconds?: number; window?: number; size?: number; runs?: number }): Promise<number>;
  /** round-trip times (µs) of one datagram at a time */
  rttUs(opts?: { n?: number; size?: number }): Promise<number[]>;
  stop(): Promise<void>;
}

/** Two fresh processes: an echo server and a client that measures against it. */
export async function rawEcho(): Promise<RawEcho> {
  const server: Worker = startWorker('raw-echo.ts');
  const client: Worker = startWorker('raw-echo.ts');
  const { port } = await server.ask<{ port: number }>({ cmd: 'serve' });
  return {
    async pairsPerS({ seconds = 2, window = 64, size = 48, runs = 3 } = {}) {
      const xs: number[] = [];
      for (let i = 0; i < runs; i++) xs.push((await client.ask<{ pairs: number }>({ cmd: 'throughput', port, seconds, window, size })).pairs);
      return median(xs);
    },
    async rttUs({ n = 2000, size = 48 } = {}) {
      return (await client.ask<{ samples: number[] }>({ cmd: 'pingpong', port, n, size })).samples;
    },
    async stop() {
      await Promise.all([server.kill(), client.kill()]);
    },
  };
}

// ---- child side ----------------------------------------------------------------------------------
if (process.send && import.meta.filename === process.argv[1]) {
  let echo: dgram.Socket | null = null;
  serveRequests(async (m) => {
    switch (m.cmd) {
      case 'serve': {
        echo = await bind();
        try {
          echo.setRecvBufferSize(4 << 20);
        } catch {
          /* best effort */
        }
        const e = echo;
        e.on('message', (msg, r) => e.send(msg, r.port, r.address));
        return { port: e.address().port };
      }
      case 'throughput':
        return { pairs: await throughput(Number(m.port), Number(m.seconds), Number(m.window), Number(m.size)) };
      case 'pingpong': {
        const samples = await pingpong(Number(m.port), Number(m.n), Number(m.size));
        return { samples, p50: quantile(samples, 0.5) };
      }
      default:
        throw new Error(`unknown command ${String(m.cmd)}`);
    }
  });
}
