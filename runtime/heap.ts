/**
 * A V8 setting for the server and for processes that run chat clients.
 *
 * V8 watches, per allocation site, how many of the objects it makes survive a young-generation
 * collection, and once most do it allocates that site's objects directly in the old generation
 * ("allocation-site pretenuring"). Our state is immutable snapshots copied on every transition:
 * pretenured copies pile up in the old generation until the next full collection, and each young
 * collection must scan them and keep alive the young objects they point to.
 * - Client: a conversation keeps its last 1 000 lines in an array each transition copies, and
 *   those copies were pretenured: young collections took 7-10 ms each and a message 84-89 µs in
 *   one process (a conversation actor, SEND.BATCH then DELIVERY.BATCH per message); without
 *   pretenuring 2-2.7 ms and 57-58 µs.
 * - Server, 10 000 users (test/bench/presence.ts, 30 s): RSS 249 -> 199 MB, 12.0 -> 8.9 KB per
 *   user, the same CPU (54.5 / 55.7 % of a core).
 * The flag is read at collection time, so setting it once at start-up is enough.
 *
 * The server also caps V8's young generation (SERVER_NODE_FLAGS, given on node's command line by
 * `npm run server`: V8 reads it only when the process starts). By default it grows to two 16 MB
 * semi-spaces and stays there, all of it resident: 3.4 KB per user at 10 000. With 8 MB, at
 * 10 000 users (presence bench, 30 s, pretenuring off in both runs): RSS 199 -> 174 MB, 8.9 ->
 * 5.8 KB per user, CPU 55.7 / 54.4 % of a core, probe drift p99 24 / 8 ms; the 10 000-client
 * restart storm within its run-to-run spread (14.2-17.9 s without, 16.1 s with).
 */
import { setFlagsFromString } from 'node:v8';

/** node flags the server runs with (package.json's `server` script; the tests spawn it with them too) */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

let done = false;

/** Turns V8's allocation-site pretenuring off for this process (once). */
export function tuneHeap(): void {
  if (done) return;
  done = true;
  setFlagsFromString('--no-allocation-site-pretenuring');
}
