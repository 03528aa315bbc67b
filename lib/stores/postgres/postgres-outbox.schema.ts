import { ATTEMPT_HISTORY_LIMIT } from '../../kernel/outbox-entry.interface.js';
import { SCHEMA_VERSION_TABLE, type OutboxMigration } from '../schema-version.js';
import { appendFunctionName, at, orderingLocksCte } from './postgres-outbox.sql.js';

/** The transaction-local setting under which the insert trigger sends no `NOTIFY` (schema version 4). */
const QUIET_SETTING = 'nestjs_messaging.quiet_insert';

/** A table name the PostgreSQL store accepts: an unquoted identifier, optionally schema-qualified. */
export const POSTGRES_TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/;

/** The default outbox table. */
export const DEFAULT_POSTGRES_TABLE = 'nestjs_messaging_outbox';

/** The version table beside `table`: in its schema when it is schema-qualified. */
export function postgresVersionTable(table: string): string {
  const dot = table.indexOf('.');
  return dot < 0 ? SCHEMA_VERSION_TABLE : `${table.slice(0, dot)}.${SCHEMA_VERSION_TABLE}`;
}

function checkedName(table: string): string {
  if (!POSTGRES_TABLE_NAME.test(table)) {
    throw new Error(`table: expected a lower-case SQL identifier (letters, digits, _), got ${JSON.stringify(table)}`);
  }
  return table.replace('.', '_');
}

/**
 * The PostgreSQL outbox's migrations, oldest first. Each is idempotent (`IF NOT EXISTS`,
 * `CREATE OR REPLACE`), creates the version table if missing and records itself there: run
 * those above the table's version in your migration tool, each in a transaction, or let the
 * store run them at start-up (`createSchema: true`, under an advisory lock), or run
 * `npx nestjs-messaging outbox migrate`.
 *
 * 1. the table as versions before the version table created it, with its indexes and the
 *    trigger that sends `NOTIFY <table>` when rows are inserted: `sequence` (acceptance order),
 *    `id`, `topic`, `body` (JSON text as accepted), `headers`, `timestamp` (ms since the epoch),
 *    `created_at`, `status` (`pending`, `delivered`, `dead`), `attempts`, `next_attempt_at`
 *    (NULL: due at once), `last_error`, `settled_at`, `lease_owner`, `lease_expires_at`;
 * 2. `ordering_key` (NULL: no ordering; existing rows get their topic, and so do rows inserted
 *    without the column by instances of version 1 code during a rolling deploy, by a trigger),
 *    `dead_reason` (`exhausted`, `rejected`, `expired`; NULL for messages that died before),
 *    `attempt_history` (jsonb array of attempt records, at most `ATTEMPT_HISTORY_LIMIT`), and an
 *    index of pending messages by key then sequence, for claims by key. It updates every row
 *    once (the backfill): on a large table, run it at a quiet time;
 * 3. `holds_key` (true: a pending message that its key's later messages wait for until it is
 *    due: delayed, or failed under `dispatch.ordering.onFailure: 'hold'`; false for existing
 *    rows, which step aside as before), and an index of the pending rows that may block their
 *    key (leased or holding). A column with a constant default: no rewrite of the table;
 * 4. `<table>_append(batch json, notify boolean DEFAULT true)`, the function every insert of the
 *    library calls (see `appendStatement()`): the insert with its ordering keys' locks, as a
 *    PL/pgSQL function, so that PostgreSQL plans it once per connection instead of parsing and
 *    planning the statement at every call (server time per one-message insert: 350 µs as a
 *    statement, 210 µs as the function). It is named and resolved like the table (in the
 *    table's schema when qualified; a hash shortens a name too long for the suffix:
 *    `appendFunctionName()`). With `notify` false (`AppendOptions.announcedLocally`) the insert
 *    trigger sends no `NOTIFY`: the trigger function now skips it while the transaction-local
 *    setting `nestjs_messaging.quiet_insert` is `on`, which the function sets around its insert.
 *
 * @param table the table name (optionally `schema.table`); default `nestjs_messaging_outbox`.
 * @throws Error when `table` is not a lower-case SQL identifier.
 */
export function postgresOutboxMigrations(table: string = DEFAULT_POSTGRES_TABLE): OutboxMigration[] {
  const name = checkedName(table);
  const versions = postgresVersionTable(table);
  const versionTable = `CREATE TABLE IF NOT EXISTS ${versions} (
  table_name text NOT NULL,
  version integer NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (table_name, version)
);`;
  const record = (version: number): string =>
    `INSERT INTO ${versions} (table_name, version) VALUES ('${table}', ${String(version)}) ON CONFLICT DO NOTHING;`;
  return [
    {
      version: 1,
      description: 'the outbox table, its indexes and the NOTIFY trigger',
      sql: `${versionTable}
CREATE TABLE IF NOT EXISTS ${table} (
  sequence bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  topic text NOT NULL,
  body json NOT NULL,
  headers json NOT NULL,
  "timestamp" bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  last_error text,
  settled_at timestamptz,
  lease_owner text,
  lease_expires_at timestamptz
);
CREATE INDEX IF NOT EXISTS ${name}_pending ON ${table} (sequence) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS ${name}_pending_topic ON ${table} (topic, sequence) WHERE status = 'pending' AND lease_owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${name}_settled ON ${table} (status, settled_at) WHERE status <> 'pending';
CREATE OR REPLACE FUNCTION ${name}_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${name}', '');
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS ${name}_notify ON ${table};
CREATE TRIGGER ${name}_notify AFTER INSERT ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ${name}_notify();
${record(1)}`,
    },
    {
      version: 2,
      description: `ordering keys, dead reasons, attempt history (at most ${String(ATTEMPT_HISTORY_LIMIT)} records)`,
      sql: `${versionTable}
ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ordering_key text DEFAULT '';
ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS dead_reason text CHECK (dead_reason IN ('exhausted', 'rejected', 'expired'));
ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS attempt_history jsonb NOT NULL DEFAULT '[]';
UPDATE ${table} SET ordering_key = topic WHERE ordering_key = '';
CREATE INDEX IF NOT EXISTS ${name}_pending_key ON ${table} (ordering_key, sequence) WHERE status = 'pending';
CREATE OR REPLACE FUNCTION ${name}_default_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.ordering_key := NEW.topic;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS ${name}_default_key ON ${table};
CREATE TRIGGER ${name}_default_key BEFORE INSERT ON ${table} FOR EACH ROW WHEN (NEW.ordering_key = '')
  EXECUTE FUNCTION ${name}_default_key();
${record(2)}`,
    },
    {
      version: 3,
      description: 'messages that hold their ordering key (delayed, or failed under onFailure: hold)',
      sql: `${versionTable}
ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS holds_key boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS ${name}_pending_blocking ON ${table} (ordering_key, sequence)
  WHERE status = 'pending' AND (lease_owner IS NOT NULL OR holds_key);
${record(3)}`,
    },
    {
      version: 4,
      description: 'the append function, planned once per connection',
      sql: `${versionTable}
DROP FUNCTION IF EXISTS ${appendFunctionName(table)}(json);
CREATE OR REPLACE FUNCTION ${appendFunctionName(table)}(batch json, notify boolean DEFAULT true) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT notify THEN PERFORM set_config('${QUIET_SETTING}', 'on', true); END IF;
  ${appendSql(table, 'batch')};
  IF NOT notify THEN PERFORM set_config('${QUIET_SETTING}', 'off', true); END IF;
END $$;
CREATE OR REPLACE FUNCTION ${name}_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('${QUIET_SETTING}', true) IS DISTINCT FROM 'on' THEN
    PERFORM pg_notify('${name}', '');
  END IF;
  RETURN NULL;
END $$;
${record(4)}`,
    },
  ];
}

/**
 * The insert of migration 4's function: the messages of `batch` (a JSON array of
 * `{ id, topic, key, body, headers, timestamp, due }`, `due` in ms since the epoch or null), in
 * their order; the keys' locks first (each row needs the CTE's one row), then each row's
 * sequence: see `orderingLocksCte`. A duplicate id (a caller-supplied one) is skipped.
 */
function appendSql(table: string, batch: string): string {
  return `WITH messages AS MATERIALIZED (SELECT * FROM json_to_recordset(${batch})
    AS m(id text, topic text, key text, body json, headers json, "timestamp" bigint, due float8)),
  ${orderingLocksCte(table, 'messages')}
  INSERT INTO ${table} (id, topic, ordering_key, body, headers, "timestamp", next_attempt_at, holds_key)
  SELECT m.id, m.topic, m.key, m.body, m.headers, m."timestamp", ${at('m.due')}, m.key IS NOT NULL AND m.due IS NOT NULL
  FROM ordering_locks l, messages m WHERE l.taken >= 0
  ON CONFLICT (id) DO NOTHING`;
}

/** The latest schema version this code knows. */
export const POSTGRES_SCHEMA_VERSION = postgresOutboxMigrations().length;

/**
 * The SQL of every migration (`postgresOutboxMigrations()`), in order: creates the outbox at the
 * latest version, or brings an older one up to it. Idempotent: run it from your migration tool,
 * or let the store run it at start-up with `createSchema: true`.
 *
 * @param table the table name (optionally `schema.table`); default `nestjs_messaging_outbox`.
 * @throws Error when `table` is not a lower-case SQL identifier.
 */
export function postgresOutboxSchema(table: string = DEFAULT_POSTGRES_TABLE): string {
  return postgresOutboxMigrations(table)
    .map(({ sql }) => sql)
    .join('\n');
}

/** The channel the insert trigger notifies on. */
export function notificationChannel(table: string): string {
  return table.replace('.', '_');
}
