import type { Database } from 'better-sqlite3';
import type { OutboxAdminStore, OutboxCounts, OutboxFilter } from '../../kernel/outbox-admin-store.interface.js';
import type { OutboxEntry, OutboxStatus } from '../../kernel/outbox-entry.interface.js';
import { outboxRowToEntry } from '../outbox-entry.mapper.js';
import { outboxFilterSql, type OutboxSqlDialect } from '../outbox-filter.js';
import { SqlParameters } from '../sql-parameters.js';
import type { SqliteOutboxRow } from './sqlite-outbox.database.js';

/** The shared filter rule in SQLite: times are numbers (ms since the epoch); ids are bound one by one. */
export const SQLITE_FILTER_DIALECT: OutboxSqlDialect = {
  time: (placeholder) => placeholder,
  idIn: (ids, parameters) => `id IN (${ids.map((id) => parameters.bind(id)).join(', ')})`,
};

/** The operators' queries on a SQLite outbox. */
export class SqliteOutboxAdmin implements OutboxAdminStore {
  constructor(
    private readonly db: Database,
    private readonly table: string,
  ) {}

  list(filter: OutboxFilter, limit: number): Promise<OutboxEntry[]> {
    const { where, parameters } = whereOf(filter);
    const rows = this.db
      .prepare(`SELECT * FROM ${this.table} WHERE ${where} ORDER BY sequence LIMIT ${parameters.bind(limit)}`)
      .all(named(parameters)) as SqliteOutboxRow[];
    return Promise.resolve(rows.map((row) => outboxRowToEntry(row)));
  }

  counts(): Promise<OutboxCounts> {
    const counts = { pending: 0, delivered: 0, dead: 0 };
    const rows = this.db.prepare(`SELECT status, COUNT(*) AS n FROM ${this.table} GROUP BY status`).all() as {
      status: OutboxStatus;
      n: number;
    }[];
    for (const { status, n } of rows) counts[status] = n;
    return Promise.resolve(counts);
  }

  retry(filter: OutboxFilter, now: number): Promise<number> {
    const { where, parameters } = whereOf({ ...filter, status: 'dead' });
    const { changes } = this.db
      .prepare(
        `UPDATE ${this.table} SET status = 'pending', attempts = 0, next_attempt_at = ${parameters.bind(now)}, settled_at = NULL WHERE ${where}`,
      )
      .run(named(parameters));
    return Promise.resolve(changes);
  }

  /** A SQLite outbox serves one application instance, so no retention purges compete: `PurgeOptions` are ignored. */
  purge(filter: OutboxFilter): Promise<number> {
    const { where, parameters } = whereOf(filter);
    const { changes } = this.db
      .prepare(`DELETE FROM ${this.table} WHERE ${where} AND status <> 'pending'`)
      .run(named(parameters));
    return Promise.resolve(changes);
  }
}

function whereOf(filter: OutboxFilter): { where: string; parameters: SqlParameters } {
  const parameters = new SqlParameters((index) => `@p${String(index)}`);
  return { where: outboxFilterSql(filter, SQLITE_FILTER_DIALECT, parameters), parameters };
}

/** The parameters as better-sqlite3 binds `@p1`, `@p2`, ... */
function named(parameters: SqlParameters): Record<string, unknown> {
  return Object.fromEntries(parameters.values.map((value, index) => [`p${String(index + 1)}`, value]));
}
