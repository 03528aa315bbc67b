import type { Database } from 'better-sqlite3';
import type {
  OutboxAdminStore,
  OutboxCounts,
  OutboxFilter,
  PurgeOptions,
} from '../../kernel/outbox-admin-store.interface.js';
import type { OutboxEntry, OutboxStatus } from '../../kernel/outbox-entry.interface.js';
import { outboxRowToEntry } from '../outbox-entry.mapper.js';
import { outboxFilterSql, type OutboxSqlDialect } from '../outbox-filter.js';
import { SqlParameters } from '../sql-parameters.js';
import { asError, isSqliteBusy } from './sqlite-busy.js';
import type { SqliteOutboxRow } from './sqlite-outbox.database.js';

/** The shared filter rule in SQLite: times are numbers (ms since the epoch); ids are bound one by one. */
export const SQLITE_FILTER_DIALECT: OutboxSqlDialect = {
  time: (placeholder) => placeholder,
  idIn: (ids, parameters) => `id IN (${ids.map((id) => parameters.bind(id)).join(', ')})`,
};

/** Runs one synchronous operation once the database is not locked (the store's `whenUnlocked`). */
export type WhenUnlocked = <T>(operation: () => T, what: string) => Promise<T>;

/** The operators' queries on a SQLite outbox; each waits for another connection's lock with `whenUnlocked`. */
export class SqliteOutboxAdmin implements OutboxAdminStore {
  constructor(
    private readonly db: Database,
    private readonly table: string,
    private readonly whenUnlocked: WhenUnlocked,
  ) {}

  list(filter: OutboxFilter, limit: number): Promise<OutboxEntry[]> {
    const { where, parameters } = whereOf(filter);
    const sql = `SELECT * FROM ${this.table} WHERE ${where} ORDER BY sequence LIMIT ${parameters.bind(limit)}`;
    return this.whenUnlocked(() => {
      const rows = this.db.prepare(sql).all(named(parameters)) as SqliteOutboxRow[];
      return rows.map((row) => outboxRowToEntry(row));
    }, 'listing messages');
  }

  counts(): Promise<OutboxCounts> {
    return this.whenUnlocked(() => {
      const counts = { pending: 0, delivered: 0, dead: 0 };
      const rows = this.db.prepare(`SELECT status, COUNT(*) AS n FROM ${this.table} GROUP BY status`).all() as {
        status: OutboxStatus;
        n: number;
      }[];
      for (const { status, n } of rows) counts[status] = n;
      return counts;
    }, 'counting messages');
  }

  retry(filter: OutboxFilter, now: number): Promise<number> {
    const { where, parameters } = whereOf({ ...filter, status: 'dead' });
    const sql = `UPDATE ${this.table} SET status = 'pending', attempts = 0, next_attempt_at = ${parameters.bind(now)}, settled_at = NULL, dead_reason = NULL, holds_key = 0 WHERE ${where}`;
    return this.whenUnlocked(() => this.db.prepare(sql).run(named(parameters)).changes, 'retrying dead messages');
  }

  /**
   * Deletes settled messages. With `skipIfBusy` (a retention purge), a database
   * locked by another connection skips the purge at once (resolves to 0).
   */
  purge(filter: OutboxFilter, options?: PurgeOptions): Promise<number> {
    const { where, parameters } = whereOf(filter);
    const sql = `DELETE FROM ${this.table} WHERE ${where} AND status <> 'pending'`;
    const purge = (): number => this.db.prepare(sql).run(named(parameters)).changes;
    if (options?.skipIfBusy !== true) return this.whenUnlocked(purge, 'purging messages');
    try {
      return Promise.resolve(purge());
    } catch (error) {
      return isSqliteBusy(error) ? Promise.resolve(0) : Promise.reject(asError(error));
    }
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
