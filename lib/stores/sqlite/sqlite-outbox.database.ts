import type { Database } from 'better-sqlite3';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import type { OutboxRow } from '../outbox-entry.mapper.js';
import { loadBetterSqlite3 } from './load-better-sqlite3.js';
import type { ResolvedSqliteOutboxOptions } from './sqlite-outbox.options.js';
import { outboxSchema } from './sqlite-outbox.schema.js';
import { WalSync } from './wal-sync.js';

/** An outbox row as SQLite returns it (`SELECT *`). */
export interface SqliteOutboxRow extends OutboxRow {
  sequence: number;
}

/** An open outbox database. */
export interface SqliteOutboxDatabase {
  readonly db: Database;
  /** Syncs the write-ahead log off the event loop; `undefined` with `synchronous: 'normal'`. */
  readonly walSync: WalSync | undefined;
}

/**
 * Opens (and creates) the database file in WAL mode and creates the table if
 * missing. Commits never fsync on the event loop (`synchronous = NORMAL`):
 * with `synchronous: 'full'`, appends are made durable by the `WalSync`.
 * Opening waits up to `busyTimeoutMs` for another connection's lock (before
 * the application serves anything); then the connection's busy timeout is
 * set to 0, and the store waits for locks off the event loop (`whenUnlocked`).
 * @throws MessagingOptionsError when the file cannot be opened, or not in WAL mode (`:memory:`).
 * @throws MessagingError when `better-sqlite3` is missing or too old.
 */
export function openSqliteOutbox({
  path,
  synchronous,
  table,
  busyTimeoutMs,
}: ResolvedSqliteOutboxOptions): SqliteOutboxDatabase {
  const BetterSqlite3 = loadBetterSqlite3();
  let db: Database;
  try {
    db = new BetterSqlite3(path, { timeout: busyTimeoutMs });
  } catch (error) {
    throw new MessagingOptionsError(
      [`path: cannot open ${path}: ${error instanceof Error ? error.message : String(error)}`],
      'SqliteOutboxStore options',
    );
  }
  if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') {
    db.close();
    throw new MessagingOptionsError(
      [`path: ${path} cannot be used in WAL mode (an in-memory database?); give a file path`],
      'SqliteOutboxStore options',
    );
  }
  db.pragma('synchronous = NORMAL');
  db.exec(outboxSchema(table));
  const walSync = synchronous === 'full' ? openWalSync(db, path, table) : undefined;
  // SQLite's busy handler sleeps inside the call, on the event loop: from now on, every
  // statement fails at once with SQLITE_BUSY, and the store waits for the lock on a timer.
  db.pragma('busy_timeout = 0');
  return { db, walSync };
}

/** A WalSync on the database's write-ahead log, which the first read makes sure exists. */
function openWalSync(db: Database, path: string, table: string): WalSync {
  db.prepare(`SELECT 1 FROM ${table} LIMIT 1`).get();
  return new WalSync(`${path}-wal`);
}
