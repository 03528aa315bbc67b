import { ATTEMPT_HISTORY_LIMIT } from '../../kernel/outbox-entry.interface.js';
import { SCHEMA_VERSION_TABLE, type OutboxMigration } from '../schema-version.js';

/**
 * A table name the MySQL store accepts: an unquoted lower-case identifier of at most 54
 * characters (so that `<table>_key_locks` stays within MySQL's 64), optionally database-qualified.
 */
export const MYSQL_TABLE_NAME = /^([a-z_][a-z0-9_]{0,63}\.)?[a-z_][a-z0-9_]{0,53}$/;

/**
 * How many per-key locks the table `<table>_key_locks` holds (one row each): an ordering key's
 * lock is row `CRC32(key) mod 4096` (`mysqlKeyLockBucket()`); keys that share a row wait for
 * each other's commit, no more.
 */
export const MYSQL_KEY_LOCK_BUCKETS = 4096;

/** The table of per-key lock rows beside `table` (migration 4). */
export const mysqlKeyLockTable = (table: string): string => `${table}_key_locks`;

/** The default outbox table. */
export const DEFAULT_MYSQL_TABLE = 'nestjs_messaging_outbox';

/**
 * The longest id, topic, ordering key and lease owner the table holds, in characters
 * (`VARCHAR(255)`): a longer one fails the append rather than being cut.
 */
export const MYSQL_MAX_NAME_LENGTH = 255;

/** The version table beside `table`: in its database when it is database-qualified. */
export function mysqlVersionTable(table: string): string {
  const dot = table.indexOf('.');
  return dot < 0 ? SCHEMA_VERSION_TABLE : `${table.slice(0, dot)}.${SCHEMA_VERSION_TABLE}`;
}

/** `table`'s database (an SQL expression: a literal, or `DATABASE()`) and bare name, for `information_schema`. */
export function mysqlTableParts(table: string): { schema: string; name: string } {
  const dot = table.indexOf('.');
  return dot < 0
    ? { schema: 'DATABASE()', name: table }
    : { schema: `'${table.slice(0, dot)}'`, name: table.slice(dot + 1) };
}

function checked(table: string): string {
  if (!MYSQL_TABLE_NAME.test(table)) {
    throw new Error(`table: expected a lower-case SQL identifier (letters, digits, _), got ${JSON.stringify(table)}`);
  }
  return table;
}

// Binary collation: topics, keys, ids and owners compare byte for byte, as in the other stores.
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/** The 16 hex digits as a derived table (column `d`): three of them cross-joined number the lock rows. */
const HEX = `(${Array.from({ length: 16 }, (_, d) => (d === 0 ? 'SELECT 0 AS d' : `SELECT ${String(d)}`)).join(' UNION ALL ')})`;

/**
 * The MySQL/MariaDB outbox's migrations, oldest first; their numbers mean what they mean for
 * `postgresOutboxMigrations()`. Each creates the version table if missing, records itself there
 * and is idempotent (DDL in MySQL commits at once, so a step cut short is simply run again):
 * run those above the table's version in your migration tool, statement by statement, or let the
 * store run them at start-up (`createSchema: true`, under a named lock, `GET_LOCK`), or run
 * `npx nestjs-messaging outbox migrate --mysql <url>`. Times are `DATETIME(3)` in UTC
 * (`UTC_TIMESTAMP(3)`); JSON columns are `LONGTEXT` checked by `JSON_VALID`, so the body is
 * kept as the text accepted (MySQL's `JSON` type would reorder its keys).
 *
 * 1. the table: `sequence` (acceptance order), `id`, `topic`, `body`, `headers`, `timestamp`
 *    (ms since the epoch), `created_at`, `status` (`pending`, `delivered`, `dead`), `attempts`,
 *    `next_attempt_at` (NULL: due at once), `last_error`, `settled_at`, `lease_owner`,
 *    `lease_expires_at`, with indexes for claims, leases and purges;
 * 2. `ordering_key` (NULL: no ordering; existing rows get their topic), `dead_reason`
 *    (`exhausted`, `rejected`, `expired`), `attempt_history` (JSON array of attempt records, at
 *    most `ATTEMPT_HISTORY_LIMIT`), and an index of messages by status, key and sequence;
 * 3. `holds_key` (TRUE: a pending message that its key's later messages wait for until it is
 *    due: delayed, or failed under `dispatch.ordering.onFailure: 'hold'`; FALSE for existing rows);
 * 4. the table `<table>_key_locks` of `MYSQL_KEY_LOCK_BUCKETS` rows (`bucket` 0 to 4095), whose
 *    rows an append locks (`FOR UPDATE`, until its commit) for its ordering keys before its rows
 *    draw their sequence, so that a key's sequence follows commit order.
 *
 * @param table the table name (optionally `database.table`); default `nestjs_messaging_outbox`.
 * @throws Error when `table` is not a lower-case SQL identifier.
 */
export function mysqlOutboxMigrations(table: string = DEFAULT_MYSQL_TABLE): OutboxMigration[] {
  const t = checked(table);
  const versions = mysqlVersionTable(t);
  const { schema, name } = mysqlTableParts(t);
  const locks = mysqlKeyLockTable(t);
  const versionTable = `CREATE TABLE IF NOT EXISTS ${versions} (
  table_name VARCHAR(130) NOT NULL,
  version INT NOT NULL,
  applied_at DATETIME(3) NOT NULL,
  PRIMARY KEY (table_name, version)
) ${TABLE_OPTIONS};`;
  const record = (version: number): string =>
    `INSERT IGNORE INTO ${versions} (table_name, version, applied_at) VALUES ('${t}', ${String(version)}, UTC_TIMESTAMP(3));`;
  const v2 = [
    'ADD COLUMN ordering_key VARCHAR(255) NULL DEFAULT ',
    "ADD COLUMN dead_reason VARCHAR(16) NULL CHECK (dead_reason IN ('exhausted', 'rejected', 'expired'))",
    "ADD COLUMN attempt_history LONGTEXT NOT NULL DEFAULT ('[]') CHECK (JSON_VALID(attempt_history))",
    'ADD KEY pending_key (status, ordering_key, sequence)',
  ];
  const alter = `ALTER TABLE ${t} ${v2[0]}'', ${v2.slice(1).join(', ')}`.replaceAll("'", "''");
  return [
    {
      version: 1,
      description: 'the outbox table and its indexes',
      sql: `${versionTable}
CREATE TABLE IF NOT EXISTS ${t} (
  sequence BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  id VARCHAR(255) NOT NULL,
  topic VARCHAR(255) NOT NULL,
  body LONGTEXT NOT NULL CHECK (JSON_VALID(body)),
  headers LONGTEXT NOT NULL CHECK (JSON_VALID(headers)),
  \`timestamp\` BIGINT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(3) NULL,
  last_error TEXT NULL,
  settled_at DATETIME(3) NULL,
  lease_owner VARCHAR(255) NULL,
  lease_expires_at DATETIME(3) NULL,
  UNIQUE KEY id (id),
  KEY pending (status, sequence),
  KEY leased (status, lease_expires_at),
  KEY settled (status, settled_at)
) ${TABLE_OPTIONS};
${record(1)}`,
    },
    {
      version: 2,
      description: `ordering keys, dead reasons, attempt history (at most ${String(ATTEMPT_HISTORY_LIMIT)} records)`,
      // MySQL has no ADD COLUMN IF NOT EXISTS: the ALTER runs only while the column is missing.
      sql: `${versionTable}
SET @nestjs_messaging_ddl = IF((SELECT COUNT(*) FROM information_schema.columns
  WHERE table_schema = ${schema} AND table_name = '${name}' AND column_name = 'ordering_key') = 0,
  '${alter}', 'DO 0');
PREPARE nestjs_messaging_ddl FROM @nestjs_messaging_ddl;
EXECUTE nestjs_messaging_ddl;
DEALLOCATE PREPARE nestjs_messaging_ddl;
UPDATE ${t} SET ordering_key = topic WHERE ordering_key = '';
${record(2)}`,
    },
    {
      version: 3,
      description: 'holds_key: a delayed message, or one failed under onFailure hold, holds its key until due',
      sql: `${versionTable}
SET @nestjs_messaging_ddl = IF((SELECT COUNT(*) FROM information_schema.columns
  WHERE table_schema = ${schema} AND table_name = '${name}' AND column_name = 'holds_key') = 0,
  'ALTER TABLE ${t} ADD COLUMN holds_key BOOLEAN NOT NULL DEFAULT FALSE', 'DO 0');
PREPARE nestjs_messaging_ddl FROM @nestjs_messaging_ddl;
EXECUTE nestjs_messaging_ddl;
DEALLOCATE PREPARE nestjs_messaging_ddl;
${record(3)}`,
    },
    {
      version: 4,
      description: `per-key lock rows (${String(MYSQL_KEY_LOCK_BUCKETS)}), so that each key's sequence follows commit order`,
      sql: `${versionTable}
CREATE TABLE IF NOT EXISTS ${locks} (bucket INT NOT NULL PRIMARY KEY) ${TABLE_OPTIONS};
INSERT INTO ${locks} (bucket) SELECT a.d * 256 + b.d * 16 + c.d FROM ${HEX} a, ${HEX} b, ${HEX} c
  ON DUPLICATE KEY UPDATE bucket = ${locks}.bucket;
${record(4)}`,
    },
  ];
}

/** The latest schema version this code knows. */
export const MYSQL_SCHEMA_VERSION = mysqlOutboxMigrations().length;

/**
 * The SQL of every migration (`mysqlOutboxMigrations()`), in order: creates the outbox at the
 * latest version, or brings an older one up to it. Idempotent.
 * @param table the table name (optionally `database.table`); default `nestjs_messaging_outbox`.
 * @throws Error when `table` is not a lower-case SQL identifier.
 */
export function mysqlOutboxSchema(table: string = DEFAULT_MYSQL_TABLE): string {
  return mysqlOutboxMigrations(table)
    .map(({ sql }) => sql)
    .join('\n');
}

/** The statements of a migration's SQL, one by one (a driver runs one per call). */
export function mysqlStatements(sql: string): string[] {
  return sql
    .split(/;\s*\n/)
    .map((statement) => statement.trim().replace(/;$/, ''))
    .filter((statement) => statement !== '');
}
