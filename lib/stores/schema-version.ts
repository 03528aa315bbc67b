import { MessagingOptionsError } from '../kernel/messaging.errors.js';

/**
 * One step of an SQL outbox's schema: `sql` takes a table at `version - 1` to `version` and
 * records it in the version table (`SCHEMA_VERSION_TABLE`). Migration 1 creates the table as
 * the first versions of nestjs-messaging did, so it is a no-op on a table they created.
 */
export interface OutboxMigration {
  /** 1, 2, ...: the version the table is at once `sql` ran. */
  readonly version: number;
  /** What the step does, for `outbox status` and logs. */
  readonly description: string;
  /** The statements, separated by semicolons, to run in one transaction. */
  readonly sql: string;
}

/**
 * The version table, beside the outbox table (in its schema for PostgreSQL): one row per
 * migration applied, `(table_name, version, applied_at)`. A table without rows there (or no
 * version table at all) that exists is at version 1, the layout of the versions before it.
 */
export const SCHEMA_VERSION_TABLE = 'nestjs_messaging_schema';

/** How a table's schema compares with the one this code was written for. */
export type SchemaState = 'missing' | 'behind' | 'current' | 'ahead';

/** Where a table stands: its version (0: no table) against the latest migration this code knows. */
export interface SchemaStatus {
  readonly table: string;
  readonly version: number;
  readonly expected: number;
  readonly state: SchemaState;
}

/** Compares `version` (0: no table) with `expected`. */
export function schemaStatus(table: string, version: number, expected: number): SchemaStatus {
  const state: SchemaState =
    version === 0 ? 'missing' : version < expected ? 'behind' : version > expected ? 'ahead' : 'current';
  return { table, version, expected, state };
}

/** The migrations `all` holds above `version`, in order. */
export function pendingMigrations(all: readonly OutboxMigration[], version: number): OutboxMigration[] {
  return all.filter((migration) => migration.version > version);
}

/**
 * The start-up error for a table that is missing or behind while the store may not migrate,
 * naming the versions and the command that migrates it.
 * @param store - the store's name, for the error (`SqliteOutboxStore`).
 * @param command - the `npx nestjs-messaging outbox migrate ...` command for this table.
 */
export function schemaNotReadyError(status: SchemaStatus, store: string, command: string): MessagingOptionsError {
  const fix = `run "${command}", apply the SQL of the migrations above version ${String(status.version)} in your migration tool, or set createSchema: true`;
  const problem =
    status.state === 'missing'
      ? `${status.table} does not exist`
      : `${status.table} is at schema version ${String(status.version)}, this version of nestjs-messaging needs version ${String(status.expected)}`;
  return new MessagingOptionsError([`table: ${problem}; ${fix}`], `${store} options`);
}

/** The warning for a table ahead of this code (a rolling deploy: newer instances migrated it). */
export function schemaAheadWarning(status: SchemaStatus): string {
  return (
    `${status.table} is at schema version ${String(status.version)}, newer than the ${String(status.expected)} this ` +
    'version of nestjs-messaging knows (a newer instance migrated it): serving it, as migrations only add. ' +
    'Upgrade this instance when the rollout allows.'
  );
}
