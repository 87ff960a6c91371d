/**
 * The V8 flags the server runs with: `npm run server` passes them (package.json), and every test
 * and bench that starts the server passes these same ones (test/package-scripts.test.ts checks
 * that the two agree).
 *
 * The server is a long-running process holding a few KB for each of many online users, under a
 * steady trickle of short-lived garbage (a datagram's buffers). With V8's defaults it kept a 32 MB
 * young generation, and after a login ramp an old generation about twice what was live, never
 * given back because the server never stops allocating: 272 MB of RSS at 10 000 users, 14.4 KB a
 * user over the idle server. With these two:
 * - `--max-semi-space-size=4`: a young generation of 8 MB instead of 32;
 * - `--heap-growing-percent=40`: the old generation may grow to 1.4 × what survived the last full
 *   collection before the next one (V8 picks up to 4 × on its own);
 * it was 182 MB (8.0 KB a user), at the same CPU, with full-collection pauses under 20 ms and the
 * same probe drift (p99 8 ms). `--optimize-for-size` went further (153 MB) but collected every
 * second with 50–70 ms pauses, and probes drifted by 78 ms (p99). Measured with
 * `node --import tsx test/bench/presence.ts --clients 10000 --seconds 30 --server-flags '…'`.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=40'];
