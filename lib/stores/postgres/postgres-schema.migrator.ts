import { pendingMigrations, schemaStatus, type OutboxMigration, type SchemaStatus } from '../schema-version.js';
import { POSTGRES_SCHEMA_VERSION, postgresOutboxMigrations, postgresVersionTable } from './postgres-outbox.schema.js';
import { appendFunctionName } from './postgres-outbox.sql.js';

/** What the migrator needs of a `pg` client (a `ClientBase`), typed without `pg`. */
export interface PostgresQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** What `migratePostgresOutbox()` did: the table went from version `from` to `to` (equal: nothing to do). */
export interface PostgresMigrationResult {
  readonly from: number;
  readonly to: number;
  readonly applied: readonly OutboxMigration[];
}

/**
 * `table`'s schema version: 0 when the table does not exist, else the highest recorded in the
 * version table, else 1 (created before versions were recorded).
 */
export async function postgresSchemaVersion(client: PostgresQueryable, table: string): Promise<number> {
  const { rows } = await client.query(
    'SELECT to_regclass($1) IS NOT NULL AS versions, to_regclass($2) IS NOT NULL AS outbox',
    [postgresVersionTable(table), table],
  );
  const { versions, outbox } = rows[0] as { versions: boolean; outbox: boolean };
  if (!outbox) return 0;
  if (versions) {
    const result = await client.query(
      `SELECT max(version) AS version FROM ${postgresVersionTable(table)} WHERE table_name = $1`,
      [table],
    );
    const { version } = result.rows[0] as { version: number | null };
    if (version !== null) return version;
  }
  return 1;
}

/** Where `table` stands against the migrations this code knows. */
export async function postgresSchemaStatus(client: PostgresQueryable, table: string): Promise<SchemaStatus> {
  return schemaStatus(table, await postgresSchemaVersion(client, table), POSTGRES_SCHEMA_VERSION);
}

/**
 * Applies the migrations above `table`'s version on `client`, in one transaction, under a
 * transaction-scoped advisory lock on the table (the one the versions before took to create
 * it): instances starting together take turns, and the later ones find nothing to do. A table
 * ahead of this code is left alone. `client` must not be in a transaction.
 * @throws Error from PostgreSQL (rolled back: nothing applied).
 */
export async function migratePostgresOutbox(
  client: PostgresQueryable,
  table: string,
): Promise<PostgresMigrationResult> {
  // Waits as long as another instance's migration takes, whatever the connection's lock_timeout.
  await client.query('BEGIN; SET LOCAL lock_timeout = 0');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1), 0)', [table]);
    const from = await postgresSchemaVersion(client, table);
    const applied = pendingMigrations(postgresOutboxMigrations(table), from);
    for (const migration of applied) await client.query(migration.sql);
    await client.query('COMMIT');
    return { from, to: applied.at(-1)?.version ?? from, applied };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Why this connection's role cannot call `table`'s append function (schema version 4), which every
 * insert of the library calls, or `undefined` when it can: the version table says 4 but the
 * function is missing (dropped, or made by an earlier build of version 4 with another signature),
 * or the role may not execute it (`REVOKE EXECUTE ... FROM PUBLIC`). Checked at start-up, so
 * that such a table fails there, naming the fix, rather than at every insert.
 */
export async function postgresAppendFunctionProblem(
  client: PostgresQueryable,
  table: string,
): Promise<string | undefined> {
  const signature = `${appendFunctionName(table)}(json, boolean)`;
  const { rows } = await client.query(
    `SELECT to_regprocedure($1) IS NOT NULL AS found, current_user AS role,
       to_regprocedure($1) IS NOT NULL AND has_function_privilege(to_regprocedure($1), 'EXECUTE') AS executable`,
    [signature],
  );
  const { found, role, executable } = rows[0] as { found: boolean; role: string; executable: boolean };
  if (!found) {
    return (
      `table: ${table} is at schema version 4 or later, but its append function ${signature} is missing; apply ` +
      `migration 4 again (it is idempotent): npx nestjs-messaging outbox sql --dialect postgres --table ${table} --from 3 | psql <url>`
    );
  }
  if (!executable) {
    return `table: the role ${role} may not execute ${signature}, which every insert calls: GRANT EXECUTE ON FUNCTION ${signature} TO ${role}`;
  }
  return undefined;
}
