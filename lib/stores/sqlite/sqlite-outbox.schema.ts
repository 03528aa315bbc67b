import { ATTEMPT_HISTORY_LIMIT } from '../../kernel/outbox-entry.interface.js';
import { SCHEMA_VERSION_TABLE, type OutboxMigration } from '../schema-version.js';

/** The version table, created by every migration (one applied to a table of version 1 creates it). */
const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS ${SCHEMA_VERSION_TABLE} (
  table_name TEXT NOT NULL,
  version INTEGER NOT NULL,
  applied_at INTEGER NOT NULL,
  PRIMARY KEY (table_name, version)
);`;

const record = (table: string, version: number): string =>
  `INSERT OR IGNORE INTO ${SCHEMA_VERSION_TABLE} (table_name, version, applied_at)
VALUES ('${table}', ${String(version)}, CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER));`;

/**
 * The SQLite outbox's migrations, oldest first, for `table` (a checked identifier). Each
 * creates the version table if missing and records itself there; run those above the
 * table's version, each in a transaction (`npx nestjs-messaging outbox sql --dialect sqlite`
 * prints them). `SqliteOutboxStore` applies them at start-up unless `createSchema: false`.
 *
 * 1. the table as versions before the version table created it: `sequence` (acceptance
 *    order), `id`, `topic`, `body` and `headers` (JSON text), `timestamp`, `created_at`,
 *    `status`, `attempts`, `next_attempt_at`, `last_error`, `settled_at`, `lease_owner`,
 *    `lease_expires_at` (times in ms since the epoch);
 * 2. `ordering_key` (NULL: no ordering; existing rows get their topic), `dead_reason`
 *    (`exhausted`, `rejected`, `expired`; NULL for messages that died before), `attempt_history`
 *    (a JSON array of attempt records, at most `ATTEMPT_HISTORY_LIMIT`), and an index of pending
 *    messages by key then sequence, for claims by key;
 * 3. `holds_key` (1: a pending message that its key's later messages wait for until it is due:
 *    delayed, or failed under `dispatch.ordering.onFailure: 'hold'`; 0 for existing rows).
 */
export function sqliteOutboxMigrations(table: string): OutboxMigration[] {
  return [
    {
      version: 1,
      description: 'the outbox table and its indexes',
      sql: `${VERSION_TABLE}
CREATE TABLE IF NOT EXISTS ${table} (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  topic TEXT NOT NULL,
  body TEXT NOT NULL,
  headers TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  settled_at INTEGER,
  lease_owner TEXT,
  lease_expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS ${table}_pending ON ${table} (sequence) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS ${table}_pending_due ON ${table} (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS ${table}_pending_leased ON ${table} (lease_expires_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS ${table}_settled ON ${table} (status, settled_at) WHERE status <> 'pending';
${record(table, 1)}`,
    },
    {
      version: 2,
      description: `ordering keys, dead reasons, attempt history (at most ${String(ATTEMPT_HISTORY_LIMIT)} records)`,
      sql: `${VERSION_TABLE}
ALTER TABLE ${table} ADD COLUMN ordering_key TEXT;
ALTER TABLE ${table} ADD COLUMN dead_reason TEXT CHECK (dead_reason IN ('exhausted', 'rejected', 'expired'));
ALTER TABLE ${table} ADD COLUMN attempt_history TEXT NOT NULL DEFAULT '[]';
UPDATE ${table} SET ordering_key = topic;
CREATE INDEX IF NOT EXISTS ${table}_pending_key ON ${table} (ordering_key, sequence) WHERE status = 'pending';
${record(table, 2)}`,
    },
    {
      version: 3,
      description: 'messages that hold their ordering key (delayed, or failed under onFailure: hold)',
      sql: `${VERSION_TABLE}
ALTER TABLE ${table} ADD COLUMN holds_key INTEGER NOT NULL DEFAULT 0;
${record(table, 3)}`,
    },
  ];
}

/** The SQL of every migration: a new table at the latest version. */
export function sqliteOutboxSchema(table: string): string {
  return sqliteOutboxMigrations(table)
    .map(({ sql }) => sql)
    .join('\n');
}
