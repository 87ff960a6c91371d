/**
 * Password hashes never compete with the event loop (server/passwords.ts): they run on threads
 * of their own at nice 10, so the loop keeps its timers while hashes run; and a ticket check
 * (a resume) never hashes a password at all.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { openAccountStore } from '../../server/accounts.ts';
import { DEFAULT_SCRYPT, hashPassword, verifyPassword } from '../../server/passwords.ts';

/** nice value of each thread of this process (Linux) */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

describe('password hashing threads', () => {
  it('hashes and verifies with the default parameters, on a nice-10 thread, leaving the main thread as it was', async () => {
    const before = getPriority();
    const hash = await hashPassword('correct horse battery', DEFAULT_SCRYPT);
    expect((await verifyPassword('correct horse battery', hash))._unsafeUnwrap()).toBe(true);
    expect((await verifyPassword('wrong horse battery', hash))._unsafeUnwrap()).toBe(false);
    expect(getPriority()).toBe(before);
    if (process.platform === 'linux') expect(threadNices()).toContain(10);
  });

  it('keeps the event loop on time while hashes run', async () => {
    let worst = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const t = performance.now();
      worst = Math.max(worst, t - last - 10);
      last = t;
    }, 10);
    const hashes = await Promise.all(Array.from({ length: 4 }, (_, i) => hashPassword(`password number ${i}`, DEFAULT_SCRYPT)));
    clearInterval(tick);
    expect(hashes).toHaveLength(4);
    // a hash on the loop would block it for the whole hash (tens to hundreds of ms)
    expect(worst).toBeLessThan(100);
  });
});

describe('resumption tickets', () => {
  it('are checked without a password hash: a thousand redeems take less time than one scrypt', async () => {
    const store = openAccountStore(':memory:', { scrypt: DEFAULT_SCRYPT })._unsafeUnwrap();
    (await store.signUp('resume@ticket.test', 'a long enough password'))._unsafeUnwrap();
    const ticket = store.issueTicket('resume@ticket.test')._unsafeUnwrap();
    const t0 = performance.now();
    await hashPassword('one hash for scale', DEFAULT_SCRYPT);
    const oneHash = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < 1000; i++) expect(store.redeemTicket('resume@ticket.test', ticket).isOk()).toBe(true);
    const redeems = performance.now() - t1;
    expect(redeems).toBeLessThan(oneHash);
    store.close();
  });
});
