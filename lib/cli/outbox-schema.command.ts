import type { Parsed } from './outbox-args.js';
import { mysqlSchemaTarget } from './outbox-mysql.target.js';
import { loadPg } from '../stores/postgres/load-pg.js';
import { DEFAULT_POSTGRES_TABLE, postgresOutboxMigrations } from '../stores/postgres/postgres-outbox.schema.js';
import { migratePostgresOutbox, postgresSchemaStatus } from '../stores/postgres/postgres-schema.migrator.js';
import { resolvePostgresOutboxOptions } from '../stores/postgres/postgres-outbox.options.js';
import { mysqlOutboxMigrations } from '../stores/mysql/mysql-outbox.schema.js';
import { resolveMysqlOutboxOptions } from '../stores/mysql/mysql-outbox.options.js';
import { pendingMigrations, type OutboxMigration, type SchemaStatus } from '../stores/schema-version.js';
import { loadBetterSqlite3 } from '../stores/sqlite/load-better-sqlite3.js';
import { resolveSqliteOutboxOptions } from '../stores/sqlite/sqlite-outbox.options.js';
import { sqliteOutboxMigrations } from '../stores/sqlite/sqlite-outbox.schema.js';
import { migrateSqliteOutbox, sqliteSchemaStatus } from '../stores/sqlite/sqlite-schema.migrator.js';

/** What a command printed and how it ended. */
interface SchemaCommandResult {
  readonly exitCode: number;
  readonly output: string;
}

/** What `status` and `migrate` need of a database, whichever it is. */
export interface SchemaTarget {
  readonly table: string;
  status(): Promise<SchemaStatus>;
  migrate(): Promise<{ from: number; to: number; applied: readonly OutboxMigration[] }>;
  close(): Promise<void>;
}

/**
 * `outbox status | migrate | sql`: the table's schema version, migrating it, the migrations'
 * SQL. Connects without the stores (they refuse a table behind), with the same option checks.
 * @throws Error (as a rejection) from the database; `MessagingOptionsError` for a bad table name.
 */
export async function runSchemaCommand(parsed: Parsed): Promise<SchemaCommandResult> {
  if (parsed.command === 'sql') return { exitCode: 0, output: migrationSql(parsed) };
  const target = await openTarget(parsed);
  try {
    if (parsed.command === 'status') {
      const status = await target.status();
      const behind = status.state === 'missing' || status.state === 'behind';
      return { exitCode: behind ? 1 : 0, output: describeStatus(status) };
    }
    const { from, to, applied } = await target.migrate();
    if (applied.length === 0)
      return { exitCode: 0, output: `${target.table}: at schema version ${String(from)}, nothing to migrate.\n` };
    const steps = applied.map(({ version, description }) => `  ${String(version)}  ${description}\n`).join('');
    return {
      exitCode: 0,
      output: `${target.table}: migrated from schema version ${String(from)} to ${String(to)}:\n${steps}`,
    };
  } finally {
    await target.close();
  }
}

function migrationSql(parsed: Parsed): string {
  const table = parsed.table ?? DEFAULT_POSTGRES_TABLE;
  const all =
    parsed.dialect === 'postgres'
      ? postgresOutboxMigrations(resolvePostgresOutboxOptions({ connectionString: 'unused', table }).table)
      : parsed.dialect === 'mysql'
        ? mysqlOutboxMigrations(resolveMysqlOutboxOptions({ connectionString: 'mysql://unused', table }).table)
        : sqliteOutboxMigrations(resolveSqliteOutboxOptions({ path: 'unused', table }).table);
  const chosen = pendingMigrations(all, parsed.from);
  if (chosen.length === 0) return `-- ${table}: no migration above schema version ${String(parsed.from)}\n`;
  return chosen
    .map(
      ({ version, description, sql }) =>
        `-- nestjs-messaging outbox ${table}, migration ${String(version)}: ${description}\n${sql.trim()}\n`,
    )
    .join('\n');
}

function describeStatus(status: SchemaStatus): string {
  const { table, version, expected, state } = status;
  const verdict = {
    missing: 'missing: run "outbox migrate" to create it',
    behind: 'behind: run "outbox migrate" (or apply "outbox sql --from <version>" in your migration tool)',
    current: 'up to date',
    ahead: 'ahead: a newer nestjs-messaging migrated it; this version serves it',
  }[state];
  return `${table}: schema version ${String(version)}, this nestjs-messaging expects ${String(expected)}: ${verdict}\n`;
}

async function openTarget(parsed: Parsed): Promise<SchemaTarget> {
  if (parsed.mysql !== undefined) return mysqlSchemaTarget(parsed.mysql, parsed.table);
  if (parsed.db !== undefined) {
    const { path, table, busyTimeoutMs } = resolveSqliteOutboxOptions({
      path: parsed.db,
      busyTimeoutMs: parsed.busyTimeoutMs,
      ...(parsed.table === undefined ? {} : { table: parsed.table }),
    });
    const BetterSqlite3 = loadBetterSqlite3();
    const db = new BetterSqlite3(path, { timeout: busyTimeoutMs, fileMustExist: true });
    return {
      table,
      status: () => Promise.resolve(sqliteSchemaStatus(db, table)),
      migrate: () => Promise.resolve(migrateSqliteOutbox(db, table)),
      close: () => {
        db.close();
        return Promise.resolve();
      },
    };
  }
  const { table } = resolvePostgresOutboxOptions({
    connectionString: parsed.postgres,
    ...(parsed.table === undefined ? {} : { table: parsed.table }),
  });
  const client = new (loadPg().Client)({ connectionString: parsed.postgres });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new Error(`Cannot reach PostgreSQL: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return {
    table,
    status: () => postgresSchemaStatus(client, table),
    migrate: () => migratePostgresOutbox(client, table),
    close: () => client.end(),
  };
}
