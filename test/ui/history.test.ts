import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { historyFile, lineKey, openHistory } from '../../ui/history.ts';
import { tempDir } from '../support/server.ts';
import { BIA, CAIO, ME, msg, T0 } from './fixtures.ts';

describe('local history', () => {
  it('keeps each account in its own 0600 SQLite file, WAL with synchronous=FULL', () => {
    const dir = tempDir('truco-hist-');
    const h = openHistory(dir, ME)._unsafeUnwrap();
    expect(h.file).toBe(historyFile(dir, ME));
    expect(h.file).toMatch(/history-[0-9a-f]{16}\.db$/);
    expect(historyFile(dir, BIA)).not.toBe(h.file);
    expect(statSync(h.file).mode & 0o777).toBe(0o600);
    h.close();
    const db = new Database(historyFile(dir, ME), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    db.close();
  });

  it('gives back what was recorded after a restart, oldest first, per peer', () => {
    const dir = tempDir('truco-hist-');
    const a = msg('out', 'olá 👋', 'pending', T0);
    const b = msg('in', 'oi!', 'delivered', T0 + 1000);
    const c = msg('in', 'other peer', 'delivered', T0 + 500);
    let h = openHistory(dir, ME)._unsafeUnwrap();
    expect(h.record(BIA, [b, a]).isOk()).toBe(true);
    expect(h.record(CAIO, [c]).isOk()).toBe(true);
    // the same line again only updates its delivery state
    expect(h.record(BIA, [{ ...a, state: 'delivered' }]).isOk()).toBe(true);
    h.close();
    h = openHistory(dir, ME)._unsafeUnwrap();
    const rows = h.messages(BIA)._unsafeUnwrap();
    expect(rows.map((r) => [r.direction, r.text, r.state])).toEqual([
      ['out', 'olá 👋', 'delivered'],
      ['in', 'oi!', 'delivered'],
    ]);
    expect(rows[0]?.key).toBe(lineKey(a));
    expect(h.peers()._unsafeUnwrap()).toEqual([BIA, CAIO]);
    expect(h.forget(BIA, lineKey(a)).isOk()).toBe(true);
    expect(h.messages(BIA)._unsafeUnwrap()).toHaveLength(1);
    h.close();
  });

  it('returns only the last messages when asked for a limit', () => {
    const h = openHistory(tempDir('truco-hist-'), ME)._unsafeUnwrap();
    h.record(BIA, Array.from({ length: 20 }, (_, i) => msg('in', `m${i}`, 'delivered', T0 + i)));
    expect(h.messages(BIA, 3)._unsafeUnwrap().map((r) => r.text)).toEqual(['m17', 'm18', 'm19']);
    h.close();
  });

  it('reports an unusable directory as an error, not a throw', () => {
    const file = join(tempDir('truco-hist-'), 'a-file');
    writeFileSync(file, 'not a directory');
    const r = openHistory(join(file, 'sub'), ME);
    expect(r.isErr()).toBe(true);
    expect(r._unsafeUnwrapErr().type).toBe('HistoryError');
  });
});
