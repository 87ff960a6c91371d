/**
 * A bench instrument preloaded into the server (`node --import …/loop-monitor.mjs`, before tsx,
 * hence plain JavaScript; see login-storm.ts): how late the server's own event loop runs, so
 * the probe drift the load generators measure at the clients can be told apart from the
 * server's share of it. Every 250 ms it appends `<Date.now()> <p99 ms> <max ms>` of the loop's
 * delay over that window to the file named by TRUCO_LOOP_FILE. A probe leaves the server late
 * by at most about this delay; what the clients see beyond it was added on the way (the kernel's
 * queues) or at the clients (the load generators' own loops). Costs a timer and a
 * 10 ms-resolution histogram; nothing in the server reads it.
 */
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.TRUCO_LOOP_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  setInterval(() => {
    appendFileSync(file, `${Date.now()} ${(h.percentile(99) / 1e6).toFixed(1)} ${(h.max / 1e6).toFixed(1)}\n`);
    h.reset();
  }, 250).unref();
}
