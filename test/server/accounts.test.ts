import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_TICKETS_PER_ACCOUNT, SCHEMA_VERSION, openAccountStore, type AccountStore } from '../../server/accounts.ts';
import { hashPassword, parseHash, type ScryptParams } from '../../server/passwords.ts';
import { TICKET_SIZE } from '../../runtime/wire/constants.ts';

const FAST: ScryptParams = { N: 2 ** 10, r: 8, p: 1, keyLen: 32 };
const open: AccountStore[] = [];
const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truco-'));
  dirs.push(dir);
  return dir;
}

function store(file = path.join(tempDir(), 'accounts.db'), scrypt: ScryptParams = FAST): AccountStore {
  const s = openAccountStore(file, { scrypt })._unsafeUnwrap();
  open.push(s);
  return s;
}

afterEach(() => {
  for (const s of open.splice(0)) s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('sign up', () => {
  it('creates an account under the normalized email', async () => {
    const s = store();
    expect((await s.signUp('  Ana@Example.org ', 'password1'))._unsafeUnwrap()).toBe('ana@example.org');
    expect(s.accountCount()).toBe(1);
    expect(s.hasAccount('ANA@example.org')).toBe(true);
    expect(s.hasAccount('bob@example.org')).toBe(false);
    expect(s.hasAccount('not an email')).toBe(false);
  });

  it('refuses a taken email whatever its case', async () => {
    const s = store();
    expect((await s.signUp('A@x.io', 'password1')).isOk()).toBe(true);
    expect((await s.signUp('a@x.io', 'password2'))._unsafeUnwrapErr()).toEqual({ type: 'EmailTaken' });
    expect(s.accountCount()).toBe(1);
  });

  it('gives EmailTaken to the loser of two concurrent sign-ups', async () => {
    const s = store();
    const results = await Promise.all([s.signUp('race@x.io', 'password1'), s.signUp('RACE@x.io', 'password2')]);
    expect(results.filter((r) => r.isOk())).toHaveLength(1);
    expect(results.filter((r) => r.isErr() && r.error.type === 'EmailTaken')).toHaveLength(1);
    expect(s.accountCount()).toBe(1);
  });

  it('refuses an invalid email and a weak password', async () => {
    const s = store();
    expect((await s.signUp('no-at-sign', 'password1'))._unsafeUnwrapErr()).toMatchObject({ type: 'InvalidEmail' });
    expect((await s.signUp('a@x.io', 'short'))._unsafeUnwrapErr()).toEqual({
      type: 'WeakPassword',
      minLength: 8,
      maxBytes: 255,
      why: 'too_short',
    });
    expect(s.accountCount()).toBe(0);
  });
});

describe('log in', () => {
  it('accepts the right password, refuses a wrong one and an unknown email', async () => {
    const s = store();
    await s.signUp('ana@x.io', 'password1');
    expect((await s.verifyLogin('ANA@x.io', 'password1'))._unsafeUnwrap()).toBe('ana@x.io');
    expect((await s.verifyLogin('ana@x.io', 'password2'))._unsafeUnwrapErr()).toEqual({ type: 'WrongPassword' });
    expect((await s.verifyLogin('bob@x.io', 'password1'))._unsafeUnwrapErr()).toEqual({ type: 'UnknownEmail' });
    expect((await s.verifyLogin('bob', 'password1'))._unsafeUnwrapErr()).toMatchObject({ type: 'InvalidEmail' });
  });

  it('matches a password typed in another Unicode normal form', async () => {
    const s = store();
    await s.signUp('ana@x.io', 'caf\u00e9-caf\u00e9');
    expect((await s.verifyLogin('ana@x.io', 'cafe\u0301-cafe\u0301')).isOk()).toBe(true);
  });

  it('rehashes with raised parameters on a successful login', async () => {
    const file = path.join(tempDir(), 'accounts.db');
    const before = store(file, FAST);
    await before.signUp('ana@x.io', 'password1');
    before.close();
    const raised: ScryptParams = { ...FAST, N: 2 ** 11 };
    const after = store(file, raised);
    expect((await after.verifyLogin('ana@x.io', 'password1')).isOk()).toBe(true);
    after.close();
    const db = new Database(file, { readonly: true });
    const row = db.prepare('SELECT password_hash FROM accounts').get() as { password_hash: string };
    db.close();
    expect(parseHash(row.password_hash)._unsafeUnwrap().params.N).toBe(2 ** 11);
    expect((await store(file, raised).verifyLogin('ana@x.io', 'password1')).isOk()).toBe(true);
  });

  it('reports a corrupt stored hash as a StoreError', async () => {
    const file = path.join(tempDir(), 'accounts.db');
    store(file).close();
    const db = new Database(file);
    db.prepare('INSERT INTO accounts VALUES (?, ?, ?)').run('ana@x.io', 'scrypt$oops', 0);
    db.close();
    expect((await store(file).verifyLogin('ana@x.io', 'password1'))._unsafeUnwrapErr().type).toBe('StoreError');
  });
});

describe('tickets', () => {
  async function withAccount(): Promise<AccountStore> {
    const s = store();
    await s.signUp('ana@x.io', 'password1');
    await s.signUp('bob@x.io', 'password1');
    return s;
  }

  it('issues 48-byte tickets that redeem, and again later', async () => {
    const s = await withAccount();
    const ticket = s.issueTicket('ana@x.io')._unsafeUnwrap();
    expect(ticket).toBeInstanceOf(Uint8Array);
    expect(ticket).toHaveLength(TICKET_SIZE);
    expect(s.redeemTicket('ana@x.io', ticket).isOk()).toBe(true);
    expect(s.redeemTicket('ANA@x.io', ticket).isOk()).toBe(true);
    const other = s.issueTicket('ana@x.io')._unsafeUnwrap();
    expect(Buffer.from(other).equals(Buffer.from(ticket))).toBe(false);
  });

  it('refuses an unknown email when issuing', async () => {
    const s = await withAccount();
    expect(s.issueTicket('carol@x.io')._unsafeUnwrapErr()).toEqual({ type: 'UnknownEmail' });
    expect(s.issueTicket('junk')._unsafeUnwrapErr()).toEqual({ type: 'UnknownEmail' });
  });

  it('refuses another email, a tampered secret or id, and a bad length', async () => {
    const s = await withAccount();
    const ticket = s.issueTicket('ana@x.io')._unsafeUnwrap();
    const refused = { type: 'TicketRefused' };
    expect(s.redeemTicket('bob@x.io', ticket)._unsafeUnwrapErr()).toEqual(refused);
    expect(s.redeemTicket('junk', ticket)._unsafeUnwrapErr()).toEqual(refused);
    for (const at of [0, 15, 16, 47]) {
      const tampered = Uint8Array.from(ticket);
      tampered[at] = (tampered[at] as number) ^ 1;
      expect(s.redeemTicket('ana@x.io', tampered)._unsafeUnwrapErr()).toEqual(refused);
    }
    expect(s.redeemTicket('ana@x.io', ticket.subarray(0, 47))._unsafeUnwrapErr()).toEqual(refused);
    expect(s.redeemTicket('ana@x.io', new Uint8Array(0))._unsafeUnwrapErr()).toEqual(refused);
    expect(s.redeemTicket('ana@x.io', ticket).isOk()).toBe(true);
  });

  it('accepts a ticket that is a view into a larger buffer', async () => {
    const s = await withAccount();
    const ticket = s.issueTicket('ana@x.io')._unsafeUnwrap();
    const datagram = new Uint8Array(100);
    datagram.set(ticket, 30);
    expect(s.redeemTicket('ana@x.io', datagram.subarray(30, 30 + TICKET_SIZE)).isOk()).toBe(true);
  });

  it('revokes one ticket, or all of an account', async () => {
    const s = await withAccount();
    const t1 = s.issueTicket('ana@x.io')._unsafeUnwrap();
    const t2 = s.issueTicket('ana@x.io')._unsafeUnwrap();
    const t3 = s.issueTicket('bob@x.io')._unsafeUnwrap();
    const forged = Uint8Array.from(t2);
    forged[40] = (forged[40] as number) ^ 0xff;
    expect(s.revokeTicket(forged)._unsafeUnwrap()).toBe(false);
    expect(s.redeemTicket('ana@x.io', t2).isOk()).toBe(true);
    expect(s.revokeTicket(t1)._unsafeUnwrap()).toBe(true);
    expect(s.revokeTicket(t1)._unsafeUnwrap()).toBe(false);
    expect(s.redeemTicket('ana@x.io', t1).isErr()).toBe(true);
    expect(s.redeemTicket('ana@x.io', t2).isOk()).toBe(true);
    expect(s.revokeTicketsFor('Ana@x.io')._unsafeUnwrap()).toBe(1);
    expect(s.redeemTicket('ana@x.io', t2).isErr()).toBe(true);
    expect(s.redeemTicket('bob@x.io', t3).isOk()).toBe(true);
  });

  it(`keeps at most ${MAX_TICKETS_PER_ACCOUNT} tickets per account, dropping the oldest`, async () => {
    const s = await withAccount();
    const tickets = Array.from({ length: MAX_TICKETS_PER_ACCOUNT + 2 }, () => s.issueTicket('ana@x.io')._unsafeUnwrap());
    expect(s.redeemTicket('ana@x.io', tickets[0] as Uint8Array).isErr()).toBe(true);
    expect(s.redeemTicket('ana@x.io', tickets[1] as Uint8Array).isErr()).toBe(true);
    for (const t of tickets.slice(2)) expect(s.redeemTicket('ana@x.io', t).isOk()).toBe(true);
  });

  it('survives closing and reopening the same file', async () => {
    const file = path.join(tempDir(), 'accounts.db');
    const first = store(file);
    await first.signUp('ana@x.io', 'password1');
    const ticket = first.issueTicket('ana@x.io')._unsafeUnwrap();
    first.close();
    const second = store(file);
    expect(second.accountCount()).toBe(1);
    expect(second.redeemTicket('ana@x.io', ticket).isOk()).toBe(true);
    expect((await second.verifyLogin('ana@x.io', 'password1')).isOk()).toBe(true);
  });
});

describe('the database file', () => {
  it('never holds the password or the ticket secret', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'accounts.db');
    const s = store(file);
    const canary = 'canary-Pa55w0rd-7f3a9c';
    await s.signUp('ana@x.io', canary);
    const ticket = s.issueTicket('ana@x.io')._unsafeUnwrap();
    const secret = Buffer.from(ticket.subarray(16));
    // read while open (data may sit in the WAL) and again after close (checkpointed)
    const scan = (): void => {
      for (const name of fs.readdirSync(dir)) {
        const bytes = fs.readFileSync(path.join(dir, name));
        expect(bytes.includes(Buffer.from(canary)), name).toBe(false);
        expect(bytes.includes(Buffer.from(canary, 'utf16le')), name).toBe(false);
        expect(bytes.includes(secret), name).toBe(false);
        expect(bytes.includes(Buffer.from(secret.toString('hex'))), name).toBe(false);
        expect(bytes.includes(Buffer.from(secret.toString('base64'))), name).toBe(false);
      }
    };
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    scan();
    s.close();
    scan();
    // the ticket id is there: the check above is not vacuous
    expect(fs.readFileSync(file).includes(Buffer.from(ticket.subarray(0, 16)))).toBe(true);
  });

  it('is a WAL database at the current schema version, with synchronous=FULL and foreign keys', async () => {
    const file = path.join(tempDir(), 'accounts.db');
    store(file).close();
    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(1);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const columns = (db.prepare("SELECT name FROM pragma_table_info('tickets')").all() as { name: string }[]).map((c) => c.name);
    expect(columns).toEqual(['id', 'email', 'secret_hash', 'created_at']);
    db.close();
    const s = store(file);
    // foreign_keys=ON: a ticket for a missing account cannot be inserted behind the store's back
    expect(s.issueTicket('ghost@x.io').isErr()).toBe(true);
  });

  it('refuses a database from a newer schema', () => {
    const file = path.join(tempDir(), 'accounts.db');
    store(file).close();
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const r = openAccountStore(file, { scrypt: FAST });
    expect(r._unsafeUnwrapErr().type).toBe('StoreError');
    expect(r._unsafeUnwrapErr().message).toMatch(/newer/);
  });

  it('is created mode 0600 in a new 0700 directory, WAL included', async () => {
    const dir = path.join(tempDir(), 'nested', 'data');
    const file = path.join(dir, 'accounts.db');
    const s = store(file);
    await s.signUp('ana@x.io', 'password1');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
  });

  it('tightens a pre-existing world-readable file to 0600', () => {
    const file = path.join(tempDir(), 'accounts.db');
    fs.writeFileSync(file, '', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    store(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('reports an unusable path as a StoreError', () => {
    const file = path.join(tempDir(), 'accounts.db');
    fs.mkdirSync(file);
    expect(openAccountStore(file)._unsafeUnwrapErr().type).toBe('StoreError');
  });

  it('turns calls on a closed store into StoreErrors', async () => {
    const s = store();
    await s.signUp('ana@x.io', 'password1');
    s.close();
    expect((await s.verifyLogin('ana@x.io', 'password1'))._unsafeUnwrapErr().type).toBe('StoreError');
    expect(s.issueTicket('ana@x.io')._unsafeUnwrapErr().type).toBe('StoreError');
    expect(s.revokeTicketsFor('ana@x.io')._unsafeUnwrapErr().type).toBe('StoreError');
    s.close();
  });

  it('hashes with the store parameters', async () => {
    const file = path.join(tempDir(), 'accounts.db');
    const s = store(file);
    await s.signUp('ana@x.io', 'password1');
    const db = new Database(file, { readonly: true });
    const row = db.prepare('SELECT password_hash FROM accounts').get() as { password_hash: string };
    db.close();
    expect(parseHash(row.password_hash)._unsafeUnwrap().params).toEqual(FAST);
    expect(row.password_hash).not.toBe(await hashPassword('password1', FAST));
  });
});
