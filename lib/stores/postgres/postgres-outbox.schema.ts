/** A table name the PostgreSQL store accepts: an unquoted identifier, optionally schema-qualified. */
export const POSTGRES_TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/;

/** The default outbox table. */
export const DEFAULT_POSTGRES_TABLE = 'nestjs_messaging_outbox';

/**
 * The SQL that creates the PostgreSQL outbox: the table, its indexes, and a
 * trigger that sends `NOTIFY <table>` when rows are inserted, so every
 * dispatcher listening wakes as soon as the inserting transaction commits.
 * Idempotent (`IF NOT EXISTS`, `CREATE OR REPLACE`): run it from your
 * migration tool, or let the store run it at start-up with `createSchema: true`.
 *
 * Columns:
 * - `sequence`: acceptance order, the order messages of one topic are sent in;
 * - `id`, `topic`, `body` (JSON text as accepted), `headers` (JSON), `timestamp` (ms since the epoch);
 * - `created_at`, `status` (`pending`, `delivered`, `dead`), `attempts`,
 *   `next_attempt_at` (NULL: due at once), `last_error`, `settled_at`;
 * - `lease_owner`, `lease_expires_at`: the dispatcher holding a pending message, and until when.
 *
 * @param table the table name (optionally `schema.table`); default `nestjs_messaging_outbox`.
 */
export function postgresOutboxSchema(table: string = DEFAULT_POSTGRES_TABLE): string {
  if (!POSTGRES_TABLE_NAME.test(table)) {
    throw new Error(`table: expected a lower-case SQL identifier (letters, digits, _), got ${JSON.stringify(table)}`);
  }
  const name = table.replace('.', '_');
  return `
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
`;
}

/** The channel the insert trigger notifies on. */
export function notificationChannel(table: string): string {
  return table.replace('.', '_');
}
