/**
 * Local message history: each account's conversations in its own SQLite file in the client's
 * data directory, `history-<first 16 hex of sha256(email)>.db`, so reopening a conversation
 * or restarting the client shows earlier messages. The server still stores no message.
 *
 * WAL with synchronous=FULL (a line survives kill -9 and power loss), file mode 0600, schema
 * versioned by `PRAGMA user_version`. A message is keyed by what the client tells about it
 * (its id, direction and time), so the same line seen again only updates its delivery state.
 * A message that was still pending when its client stopped comes back as failed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { err, ok, type Result } from 'neverthrow';
import type { ChatLineMessage } from './chat.ts';

export interface HistoryError {
  type: 'HistoryError';
  message: string;
}

export interface StoredMessage extends ChatLineMessage {
  /** the row's key in the store */
  key: string;
}

export interface History {
  readonly file: string;
  /** Saves (or updates the state of) these lines of one conversation, in one transaction. */
  record(peer: string, lines: readonly ChatLineMessage[]): Result<void, HistoryError>;
  /** The last `limit` messages with a peer, oldest first. */
  messages(peer: string, limit?: number): Result<StoredMessage[], HistoryError>;
  /** Removes one message (a failed message of an earlier session that was sent again). */
  forget(peer: string, key: string): Result<void, HistoryError>;
  /** Peers with at least one stored message, most recent first. */
  peers(): Result<string[], HistoryError>;
  close(): void;
}

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE messages (
    peer TEXT NOT NULL,
    key TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    text TEXT NOT NULL,
    at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    PRIMARY KEY (peer, key)
  );
  CREATE INDEX messages_by_peer_at ON messages(peer, at);
  `,
];

export const HISTORY_SCHEMA_VERSION = MIGRATIONS.length;
export const DEFAULT_HISTORY_LIMIT = 500;

const fail = (e: unknown): HistoryError => ({ type: 'HistoryError', message: e instanceof Error ? e.message : String(e) });

function guard<T>(fn: () => T): Result<T, HistoryError> {
  try {
    return ok(fn());
  } catch (e) {
    return err(fail(e));
  }
}

/** The history file of an account in a data directory. */
export function historyFile(dataDir: string, email: string): string {
  const h = crypto.createHash('sha256').update(email).digest('hex').slice(0, 16);
  return path.join(dataDir, `history-${h}.db`);
}

export const lineKey = (l: Pick<ChatLineMessage, 'id' | 'direction' | 'at'>): string => `${l.direction}:${l.at}:${l.id}`;

interface Row {
  key: string;
  direction: 'in' | 'out';
  text: string;
  at: number;
  state: ChatLineMessage['state'];
}

export function openHistory(dataDir: string, email: string): Result<History, HistoryError> {
  const file = historyFile(dataDir, email);
  let db: Database.Database;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      if ((fs.fstatSync(fd).mode & 0o077) !== 0) fs.fchmodSync(fd, 0o600);
    } finally {
      fs.closeSync(fd);
    }
    db = new Database(file);
  } catch (e) {
    return err(fail(e));
  }
  try {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`could not enable WAL (journal_mode is ${String(mode)})`);
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) throw new Error(`history schema version ${current} is newer than this client understands`);
    for (let v = current; v < MIGRATIONS.length; v++) {
      const sql = MIGRATIONS[v] as string;
      db.transaction(() => {
        db.exec(sql);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
  } catch (e) {
    db.close();
    return err(fail(e));
  }

  const upsert = db.prepare(
    `INSERT INTO messages (peer, key, direction, text, at, state) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (peer, key) DO UPDATE SET state = excluded.state WHERE messages.state <> excluded.state`,
  );
  const select = db.prepare(`SELECT key, direction, text, at, state FROM (
      SELECT key, direction, text, at, state, rowid AS r FROM messages WHERE peer = ? ORDER BY at DESC, rowid DESC LIMIT ?
    ) ORDER BY at, r`);
  const remove = db.prepare('DELETE FROM messages WHERE peer = ? AND key = ?');
  const peerList = db.prepare('SELECT peer FROM messages GROUP BY peer ORDER BY MAX(at) DESC');
  const recordAll = db.transaction((peer: string, lines: readonly ChatLineMessage[]) => {
    for (const l of lines) upsert.run(peer, lineKey(l), l.direction, l.text, Math.round(l.at), l.state);
  });
  let closed = false;

  return ok({
    file,
    record: (peer, lines) => (lines.length === 0 ? ok(undefined) : guard(() => void recordAll(peer, lines))),
    messages: (peer, limit = DEFAULT_HISTORY_LIMIT) =>
      guard(() =>
        (select.all(peer, limit) as Row[]).map((r) => ({
          kind: 'message' as const,
          key: r.key,
          id: r.key,
          direction: r.direction,
          text: r.text,
          at: r.at,
          state: r.state,
        })),
      ),
    forget: (peer, key) => guard(() => void remove.run(peer, key)),
    peers: () => guard(() => (peerList.all() as { peer: string }[]).map((r) => r.peer)),
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  });
}
