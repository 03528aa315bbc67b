import type { Database } from 'better-sqlite3';
import {
  pendingMigrations,
  SCHEMA_VERSION_TABLE,
  schemaStatus,
  type OutboxMigration,
  type SchemaStatus,
} from '../schema-version.js';
import { sqliteOutboxMigrations } from './sqlite-outbox.schema.js';

/** What `migrateSqliteOutbox()` did: the table went from version `from` to `to` (equal: nothing to do). */
export interface SchemaMigrationResult {
  readonly from: number;
  readonly to: number;
  readonly applied: readonly OutboxMigration[];
}

/** The latest schema version this code knows. */
export const SQLITE_SCHEMA_VERSION = sqliteOutboxMigrations('t').length;

/**
 * `table`'s schema version in `db`: 0 when the table does not exist, else the highest recorded
 * in the version table, else 1 (created before versions were recorded).
 */
export function sqliteSchemaVersion(db: Database, table: string): number {
  const exists = (name: string): boolean =>
    db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
  if (!exists(table)) return 0;
  if (exists(SCHEMA_VERSION_TABLE)) {
    const { version } = db
      .prepare(`SELECT MAX(version) AS version FROM ${SCHEMA_VERSION_TABLE} WHERE table_name = ?`)
      .get(table) as { version: number | null };
    if (version !== null) return version;
  }
  return 1;
}

/** Where `table` stands against the migrations this code knows. */
export function sqliteSchemaStatus(db: Database, table: string): SchemaStatus {
  return schemaStatus(table, sqliteSchemaVersion(db, table), SQLITE_SCHEMA_VERSION);
}

/**
 * Applies the migrations above `table`'s version, all in one immediate transaction (SQLite's
 * write lock: another process migrating at once waits, then finds nothing to do; the
 * connection's busy timeout bounds the wait). A table ahead of this code is left alone.
 * @throws Error from SQLite (nothing applied then): a locked database, a full disk.
 */
export function migrateSqliteOutbox(db: Database, table: string): SchemaMigrationResult {
  return db
    .transaction(() => {
      const from = sqliteSchemaVersion(db, table);
      const applied = pendingMigrations(sqliteOutboxMigrations(table), from);
      for (const migration of applied) db.exec(migration.sql);
      return { from, to: applied.at(-1)?.version ?? from, applied };
    })
    .immediate();
}
