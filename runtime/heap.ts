/**
 * A V8 setting for processes that run chat clients.
 *
 * V8 watches, per allocation site, how many of the objects it makes survive a young-generation
 * collection, and once most do it allocates that site's objects directly in the old generation
 * ("allocation-site pretenuring"). A conversation keeps its last 1 000 lines in an immutable
 * array that each transition copies; V8 pretenures those copies, so every message leaves two
 * 8 KB arrays in the old generation until the next full collection, and each young collection
 * must scan their slots and keep alive the young lines they point to: measured in one process
 * (a conversation actor, SEND.BATCH then DELIVERY.BATCH per message, 1 000 lines), young
 * collections took 7-10 ms each and a message 84-89 µs; without pretenuring, 2-2.7 ms and
 * 57-58 µs. The flag is read at collection time, so setting it once at start-up is enough.
 */
import { setFlagsFromString } from 'node:v8';

let done = false;

/** Turns V8's allocation-site pretenuring off for this process (once). */
export function tuneHeapForChat(): void {
  if (done) return;
  done = true;
  setFlagsFromString('--no-allocation-site-pretenuring');
}
