import { pendingMigrations, schemaStatus, type OutboxMigration, type SchemaStatus } from '../schema-version.js';
import { tableLockName } from './mysql-outbox.sql.js';
import {
  MYSQL_SCHEMA_VERSION,
  mysqlOutboxMigrations,
  mysqlStatements,
  mysqlTableParts,
  mysqlVersionTable,
} from './mysql-outbox.schema.js';

/** What the migrator needs of a `mysql2/promise` connection, typed without `mysql2`. */
export interface MysqlQueryable {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
}

/** What `migrateMysqlOutbox()` did: the table went from version `from` to `to` (equal: nothing to do). */
export interface MysqlMigrationResult {
  readonly from: number;
  readonly to: number;
  readonly applied: readonly OutboxMigration[];
}

/** How long a migration waits for another instance's, in seconds (`GET_LOCK`). */
const MIGRATION_LOCK_SECONDS = 600;

async function rows<T>(client: MysqlQueryable, sql: string, values?: unknown[]): Promise<T[]> {
  const [result] = await client.query(sql, values);
  return result as T[];
}

async function exists(client: MysqlQueryable, table: string): Promise<boolean> {
  const { schema, name } = mysqlTableParts(table);
  const [row] = await rows<{ n: number | string }>(
    client,
    `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ${schema} AND table_name = ?`,
    [name],
  );
  return Number(row.n) > 0;
}

/**
 * `table`'s schema version: 0 when the table does not exist, else the highest recorded in the
 * version table, else 1.
 */
export async function mysqlSchemaVersion(client: MysqlQueryable, table: string): Promise<number> {
  if (!(await exists(client, table))) return 0;
  const versions = mysqlVersionTable(table);
  if (await exists(client, versions)) {
    const [row] = await rows<{ version: number | string | null }>(
      client,
      `SELECT MAX(version) AS version FROM ${versions} WHERE table_name = ?`,
      [table],
    );
    if (row.version !== null) return Number(row.version);
  }
  return 1;
}

/** Where `table` stands against the migrations this code knows. */
export async function mysqlSchemaStatus(client: MysqlQueryable, table: string): Promise<SchemaStatus> {
  return schemaStatus(table, await mysqlSchemaVersion(client, table), MYSQL_SCHEMA_VERSION);
}

/**
 * Applies the migrations above `table`'s version on `client`, statement by statement, under the
 * table's named schema lock (`GET_LOCK`, released at the end): instances starting together take
 * turns, and the later ones find nothing to do. A table ahead of this code is left alone.
 * MySQL commits DDL at once: a migration cut short is finished by the next run (each is idempotent).
 * @throws Error from MySQL, or when another instance held the lock for 10 minutes.
 */
export async function migrateMysqlOutbox(client: MysqlQueryable, table: string): Promise<MysqlMigrationResult> {
  const lock = tableLockName(table, 'schema');
  const [{ locked }] = await rows<{ locked: number | null }>(
    client,
    `SELECT GET_LOCK(${lock}, ${String(MIGRATION_LOCK_SECONDS)}) AS locked`,
  );
  if (Number(locked) !== 1)
    throw new Error(`${table}: another process held the schema lock for ${String(MIGRATION_LOCK_SECONDS)} s`);
  try {
    const from = await mysqlSchemaVersion(client, table);
    const applied = pendingMigrations(mysqlOutboxMigrations(table), from);
    for (const migration of applied) {
      for (const statement of mysqlStatements(migration.sql)) await client.query(statement);
    }
    return { from, to: applied.at(-1)?.version ?? from, applied };
  } finally {
    await client.query(`DO RELEASE_LOCK(${lock})`);
  }
}
