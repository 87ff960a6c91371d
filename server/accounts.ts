/**
 * The account store: accounts and resumption tickets in one SQLite file.
 *
 * WAL with synchronous=FULL, so a commit survives kill -9 and power loss; the
 * file is created mode 0600 in a 0700 directory; the schema is versioned with
 * `PRAGMA user_version` and migrated forward on open. Passwords are kept only
 * as scrypt hashes (server/passwords.ts); tickets only as sha256 of their
 * secret half. Every failure a user can cause is a tagged error in a Result;
 * a broken database (disk full, closed store) is a `StoreError`.
 */

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { err, ok, type Result } from 'neverthrow';
import { checkPassword, normalizeEmail, type InvalidEmail, type WeakPassword } from '../runtime/validate.ts';
import { TICKET_SIZE } from '../runtime/wire/constants.ts';
import { DEFAULT_SCRYPT, hashPassword, needsRehash, verifyPassword, type ScryptParams } from './passwords.ts';

export const TICKET_ID_SIZE = 16;
export const TICKET_SECRET_SIZE = TICKET_SIZE - TICKET_ID_SIZE;
/** Older tickets of an account beyond this many are dropped when a new one is issued. */
export const MAX_TICKETS_PER_ACCOUNT = 16;

export interface EmailTaken { type: 'EmailTaken' }
export interface UnknownEmail { type: 'UnknownEmail' }
export interface WrongPassword { type: 'WrongPassword' }
export interface TicketRefused { type: 'TicketRefused' }
export interface StoreError { type: 'StoreError'; message: string }

export interface AccountStoreOptions {
  scrypt?: ScryptParams;
  /** wall clock for created_at, ms */
  now?: () => number;
}

export interface AccountStore {
  /** Creates an account; resolves to the normalized email. */
  signUp(email: string, password: string): Promise<Result<string, InvalidEmail | WeakPassword | EmailTaken | StoreError>>;
  /** Checks a password; resolves to the normalized email. Rehashes with current parameters when they changed. */
  verifyLogin(email: string, password: string): Promise<Result<string, InvalidEmail | UnknownEmail | WrongPassword | StoreError>>;
  /** A fresh 48-byte ticket (16-byte id + 32-byte secret); only sha256(secret) is stored. */
  issueTicket(email: string): Result<Uint8Array, UnknownEmail | StoreError>;
  /** Accepts a ticket issued to `email` and not revoked. The ticket stays valid for later reconnects. */
  redeemTicket(email: string, ticket: Uint8Array): Result<void, TicketRefused | StoreError>;
  /** Revokes one ticket; ok(false) when it was not a live ticket. */
  revokeTicket(ticket: Uint8Array): Result<boolean, StoreError>;
  /** Revokes every ticket of an account; ok(number revoked). */
  revokeTicketsFor(email: string): Result<number, StoreError>;
  accountCount(): number;
  hasAccount(email: string): boolean;
  close(): void;
}

/** Migration i brings the schema from user_version i to i + 1. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE accounts (
    email TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE tickets (
    id BLOB PRIMARY KEY,
    email TEXT NOT NULL REFERENCES accounts(email),
    secret_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX tickets_by_email ON tickets(email);
  `,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

const storeError = (e: unknown): StoreError => ({
  type: 'StoreError',
  message: e instanceof Error ? e.message : String(e),
});

/** Runs a database call, turning a throw into a StoreError. */
function guard<T>(fn: () => T): Result<T, StoreError> {
  try {
    return ok(fn());
  } catch (e) {
    return err(storeError(e));
  }
}

const isUniqueViolation = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && 'code' in e &&
  ((e as { code: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || (e as { code: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE');

const sha256 = (bytes: Uint8Array): Buffer => crypto.createHash('sha256').update(bytes).digest();

/** Creates the directory (0700) and the file (0600) before SQLite opens it. */
function prepareFile(file: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    if ((fs.fstatSync(fd).mode & 0o077) !== 0) fs.fchmodSync(fd, 0o600);
  } finally {
    fs.closeSync(fd);
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this server understands (${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    const sql = MIGRATIONS[v] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export function openAccountStore(file: string, opts: AccountStoreOptions = {}): Result<AccountStore, StoreError> {
  const params = opts.scrypt ?? DEFAULT_SCRYPT;
  const now = opts.now ?? Date.now;
  const inMemory = file === ':memory:';
  let db: Database.Database;
  try {
    if (!inMemory) prepareFile(file);
    db = new Database(file);
  } catch (e) {
    return err(storeError(e));
  }
  try {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (!inMemory && mode !== 'wal') throw new Error(`could not enable WAL (journal_mode is ${String(mode)})`);
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (e) {
    db.close();
    return err(storeError(e));
  }
  return ok(createStore(db, params, now));
}

interface AccountRow { password_hash: string }
interface TicketRow { email: string; secret_hash: Buffer }

function createStore(db: Database.Database, params: ScryptParams, now: () => number): AccountStore {
  const q = {
    hasAccount: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM accounts WHERE email = ?'),
    getHash: db.prepare<[string], AccountRow>('SELECT password_hash FROM accounts WHERE email = ?'),
    insertAccount: db.prepare<[string, string, number]>('INSERT INTO accounts (email, password_hash, created_at) VALUES (?, ?, ?)'),
    setHash: db.prepare<[string, string]>('UPDATE accounts SET password_hash = ? WHERE email = ?'),
    count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM accounts'),
    insertTicket: db.prepare<[Buffer, string, Buffer, number]>(
      'INSERT INTO tickets (id, email, secret_hash, created_at) VALUES (?, ?, ?, ?)',
    ),
    pruneTickets: db.prepare<[string, string, number]>(
      `DELETE FROM tickets WHERE email = ? AND id NOT IN
         (SELECT id FROM tickets WHERE email = ? ORDER BY created_at DESC, rowid DESC LIMIT ?)`,
    ),
    getTicket: db.prepare<[Buffer], TicketRow>('SELECT email, secret_hash FROM tickets WHERE id = ?'),
    deleteTicket: db.prepare<[Buffer]>('DELETE FROM tickets WHERE id = ?'),
    deleteTicketsFor: db.prepare<[string]>('DELETE FROM tickets WHERE email = ?'),
  };

  const issue = db.transaction((email: string, id: Buffer, secretHash: Buffer) => {
    q.insertTicket.run(id, email, secretHash, now());
    q.pruneTickets.run(email, email, MAX_TICKETS_PER_ACCOUNT);
  });

  /** The live ticket row matching id, email and secret, or null. */
  function matchTicket(ticket: Uint8Array, email: string | null): Result<Buffer | null, StoreError> {
    if (!(ticket instanceof Uint8Array) || ticket.length !== TICKET_SIZE) return ok(null);
    const bytes = Buffer.from(ticket.buffer, ticket.byteOffset, ticket.length);
    const id = Buffer.from(bytes.subarray(0, TICKET_ID_SIZE));
    const row = guard(() => q.getTicket.get(id));
    if (row.isErr()) return err(row.error);
    const found = row.value;
    if (!found || found.secret_hash.length !== 32) return ok(null);
    const secretOk = crypto.timingSafeEqual(sha256(bytes.subarray(TICKET_ID_SIZE)), found.secret_hash);
    if (!secretOk || (email !== null && found.email !== email)) return ok(null);
    return ok(id);
  }

  return {
    async signUp(rawEmail, rawPassword) {
      const email = normalizeEmail(rawEmail);
      if (email.isErr()) return err(email.error);
      const password = checkPassword(rawPassword);
      if (password.isErr()) return err(password.error);
      const taken = guard(() => q.hasAccount.get(email.value) !== undefined);
      if (taken.isErr()) return err(taken.error);
      if (taken.value) return err({ type: 'EmailTaken' });
      let hash: string;
      try {
        hash = await hashPassword(password.value, params);
      } catch (e) {
        return err(storeError(e));
      }
      try {
        q.insertAccount.run(email.value, hash, now());
      } catch (e) {
        return isUniqueViolation(e) ? err({ type: 'EmailTaken' }) : err(storeError(e));
      }
      return ok(email.value);
    },

    async verifyLogin(rawEmail, rawPassword) {
      const email = normalizeEmail(rawEmail);
      if (email.isErr()) return err(email.error);
      const row = guard(() => q.getHash.get(email.value));
      if (row.isErr()) return err(row.error);
      if (!row.value) return err({ type: 'UnknownEmail' });
      const stored = row.value.password_hash;
      const password = typeof rawPassword === 'string' ? rawPassword.normalize('NFC') : '';
      const verdict = await verifyPassword(password, stored);
      if (verdict.isErr()) return err({ type: 'StoreError', message: `stored password hash is malformed: ${verdict.error.why}` });
      if (!verdict.value) return err({ type: 'WrongPassword' });
      if (needsRehash(stored, params)) {
        // Best effort: a failure here leaves the old, still valid hash in place.
        try {
          const fresh = await hashPassword(password, params);
          q.setHash.run(fresh, email.value);
        } catch {
          /* keep the old hash */
        }
      }
      return ok(email.value);
    },

    issueTicket(rawEmail) {
      const email = normalizeEmail(rawEmail);
      if (email.isErr()) return err({ type: 'UnknownEmail' });
      const known = guard(() => q.hasAccount.get(email.value) !== undefined);
      if (known.isErr()) return err(known.error);
      if (!known.value) return err({ type: 'UnknownEmail' });
      const ticket = crypto.randomBytes(TICKET_SIZE);
      const id = Buffer.from(ticket.subarray(0, TICKET_ID_SIZE));
      const done = guard(() => issue(email.value, id, sha256(ticket.subarray(TICKET_ID_SIZE))));
      const copy = Uint8Array.from(ticket);
      ticket.fill(0);
      if (done.isErr()) return err(done.error);
      return ok(copy);
    },

    redeemTicket(rawEmail, ticket) {
      const email = normalizeEmail(rawEmail);
      if (email.isErr()) return err({ type: 'TicketRefused' });
      const match = matchTicket(ticket, email.value);
      if (match.isErr()) return err(match.error);
      return match.value ? ok(undefined) : err({ type: 'TicketRefused' });
    },

    revokeTicket(ticket) {
      const match = matchTicket(ticket, null);
      if (match.isErr()) return err(match.error);
      const id = match.value;
      if (!id) return ok(false);
      return guard(() => q.deleteTicket.run(id).changes > 0);
    },

    revokeTicketsFor(rawEmail) {
      const email = normalizeEmail(rawEmail);
      if (email.isErr()) return ok(0);
      return guard(() => q.deleteTicketsFor.run(email.value).changes);
    },

    accountCount() {
      return q.count.get()?.n ?? 0;
    },

    hasAccount(rawEmail) {
      const email = normalizeEmail(rawEmail);
      return email.isOk() && q.hasAccount.get(email.value) !== undefined;
    },

    close() {
      if (db.open) db.close();
    },
  };
}
