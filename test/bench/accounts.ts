/**
 * Bench accounts, written straight into a fresh server database before the server starts.
 *
 * The schema comes from the real account store (openAccountStore runs its migrations); the rows
 * are then inserted in one transaction with synchronous=OFF, because 20 000 sign-ups through
 * the store would be 20 000 fsyncs. Every password is hashed with cheap scrypt parameters
 * (N=2^8) unless `scrypt` says otherwise: the parameters are stored beside each hash, so the
 * server verifies them as they are. The benches log clients in with resumption tickets issued
 * here (the real RESUME handshake: no password hash per client at all); only the
 * password-login bench uses the passwords, with the server's default parameters.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openAccountStore } from '../../server/accounts.ts';
import { hashPassword, type ScryptParams } from '../../server/passwords.ts';

export const CHEAP_SCRYPT: ScryptParams = { N: 2 ** 8, r: 8, p: 1, keyLen: 32 };
export const BENCH_PASSWORD = 'bench password 1234';

export interface BenchAccount {
  email: string;
  /** base64 of the 48-byte resumption ticket */
  ticket: string;
}

export const benchEmail = (prefix: string, i: number) => `${prefix}${String(i).padStart(5, '0')}@bench.test`;

/** Creates `count` accounts (and one ticket each) in `<dir>/server.db`. */
export async function prepareAccounts(dir: string, count: number, opts: { prefix?: string; scrypt?: ScryptParams } = {}): Promise<BenchAccount[]> {
  const file = join(dir, 'server.db');
  const store = openAccountStore(file, { scrypt: opts.scrypt ?? CHEAP_SCRYPT });
  if (store.isErr()) throw new Error(store.error.message);
  store.value.close();
  const params = opts.scrypt ?? CHEAP_SCRYPT;
  // distinct salts and hashes, computed on the thread pool a few at a time
  const hashes: string[] = [];
  const batch = 64;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    hashes.push(...(await Promise.all(Array.from({ length: n }, () => hashPassword(BENCH_PASSWORD, params)))));
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insertAccount = db.prepare('INSERT INTO accounts (email, password_hash, created_at) VALUES (?, ?, ?)');
  const insertTicket = db.prepare('INSERT INTO tickets (id, email, secret_hash, created_at) VALUES (?, ?, ?, ?)');
  const out: BenchAccount[] = [];
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const email = benchEmail(opts.prefix ?? 'u', i);
      const ticket = randomBytes(48);
      insertAccount.run(email, hashes[i] as string, now);
      insertTicket.run(ticket.subarray(0, 16), email, createHash('sha256').update(ticket.subarray(16)).digest(), now);
      out.push({ email, ticket: ticket.toString('base64') });
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return out;
}
