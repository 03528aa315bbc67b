import type { Database } from 'better-sqlite3';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import type { OutboxRow } from '../outbox-entry.mapper.js';
import { loadBetterSqlite3 } from './load-better-sqlite3.js';
import type { ResolvedSqliteOutboxOptions } from './sqlite-outbox.options.js';
import { Logger } from '@nestjs/common';
import { schemaAheadWarning, schemaNotReadyError } from '../schema-version.js';
import { migrateSqliteOutbox, sqliteSchemaStatus } from './sqlite-schema.migrator.js';
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
 * Opens (and creates) the database file in WAL mode and brings the table to the
 * latest schema version (`createSchema`), or checks it is there. Commits never fsync on the event loop (`synchronous = NORMAL`):
 * with `synchronous: 'full'`, appends are made durable by the `WalSync`.
 * Opening waits up to `busyTimeoutMs` for another connection's lock (before
 * the application serves anything); then the connection's busy timeout is
 * set to 0, and the store waits for locks off the event loop (`whenUnlocked`).
 * @throws MessagingOptionsError when the file cannot be opened, or not in WAL mode (`:memory:`), or
 *   (`createSchema: false`) the table is missing or at an older schema version.
 * @throws MessagingError when `better-sqlite3` is missing or too old.
 */
export function openSqliteOutbox({
  path,
  synchronous,
  table,
  busyTimeoutMs,
  createSchema,
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
  try {
    prepareSchema(db, path, table, createSchema);
  } catch (error) {
    db.close();
    throw error;
  }
  const walSync = synchronous === 'full' ? openWalSync(db, path, table) : undefined;
  // SQLite's busy handler sleeps inside the call, on the event loop: from now on, every
  // statement fails at once with SQLITE_BUSY, and the store waits for the lock on a timer.
  db.pragma('busy_timeout = 0');
  return { db, walSync };
}

/**
 * Migrates the table when allowed, then refuses a table missing or behind, and serves one ahead
 * (a newer version migrated it) with a warning.
 */
function prepareSchema(db: Database, path: string, table: string, createSchema: boolean): void {
  const logger = new Logger('SqliteOutboxStore');
  if (createSchema) {
    const { from, to } = migrateSqliteOutbox(db, table);
    if (from > 0 && from !== to)
      logger.log(`Migrated ${table} in ${path} from schema version ${String(from)} to ${String(to)}`);
  }
  const status = sqliteSchemaStatus(db, table);
  if (status.state === 'missing' || status.state === 'behind') {
    const command = `npx nestjs-messaging outbox migrate --db ${path} --table ${table}`;
    throw schemaNotReadyError(status, 'SqliteOutboxStore', command);
  }
  if (status.state === 'ahead') logger.warn(schemaAheadWarning(status));
}

/** A WalSync on the database's write-ahead log, which the first read makes sure exists. */
function openWalSync(db: Database, path: string, table: string): WalSync {
  db.prepare(`SELECT 1 FROM ${table} LIMIT 1`).get();
  return new WalSync(`${path}-wal`);
}
