import type {
  OutboxAdminStore,
  OutboxCounts,
  OutboxFilter,
  PurgeOptions,
} from '../../kernel/outbox-admin-store.interface.js';
import type { OutboxEntry, OutboxStatus } from '../../kernel/outbox-entry.interface.js';
import { outboxFilterSql } from '../outbox-filter.js';
import { SqlParameters } from '../sql-parameters.js';
import type { PostgresOutboxConnection } from './postgres-outbox.connection.js';
import {
  at,
  OUTBOX_COLUMNS,
  POSTGRES_FILTER_DIALECT,
  postgresRowToEntry,
  PURGE_LOCK,
  type PostgresOutboxRow,
} from './postgres-outbox.sql.js';

/** The operators' queries on a PostgreSQL outbox, and the dispatchers' retention purge. */
export class PostgresOutboxAdmin implements OutboxAdminStore {
  constructor(private readonly connection: PostgresOutboxConnection) {}

  async list(filter: OutboxFilter, limit: number): Promise<OutboxEntry[]> {
    const { clock, table } = this.connection;
    await this.connection.whenReady();
    const { where, parameters } = this.whereOf(filter);
    const { rows } = await this.connection.query<PostgresOutboxRow>(
      'listing messages',
      `SELECT ${OUTBOX_COLUMNS} FROM ${table} WHERE ${where} ORDER BY sequence LIMIT ${parameters.bind(Math.min(limit, Number.MAX_SAFE_INTEGER))}`,
      parameters.values,
    );
    return rows.map((row) => postgresRowToEntry(row, clock));
  }

  async counts(): Promise<OutboxCounts> {
    const { table } = this.connection;
    await this.connection.whenReady();
    const counts = { pending: 0, delivered: 0, dead: 0 };
    const { rows } = await this.connection.query<{ status: OutboxStatus; n: number }>(
      'counting messages',
      `SELECT status, count(*)::int AS n FROM ${table} GROUP BY status`,
    );
    for (const { status, n } of rows) counts[status] = n;
    return counts;
  }

  async retry(filter: OutboxFilter, now: number): Promise<number> {
    const { clock, table } = this.connection;
    await this.connection.whenReady();
    const { where, parameters } = this.whereOf({ ...filter, status: 'dead' });
    const { rowCount } = await this.connection.query(
      'retrying messages',
      `UPDATE ${table} SET status = 'pending', attempts = 0, settled_at = NULL, dead_reason = NULL, holds_key = false,
         next_attempt_at = ${at(parameters.bind(clock.toDatabase(now)))} WHERE ${where}`,
      parameters.values,
    );
    return rowCount ?? 0;
  }

  /** With `skipIfBusy`, one instance's retention purge runs and the others' skip (a transaction-scoped advisory lock). */
  async purge(filter: OutboxFilter, options: PurgeOptions = {}): Promise<number> {
    const { table } = this.connection;
    await this.connection.whenReady();
    const { where, parameters } = this.whereOf(filter);
    return this.connection.inTransaction('a purge', async (client) => {
      if (options.skipIfBusy === true) {
        const { rows } = await client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_xact_lock(hashtext($1), $2) AS locked',
          [table, PURGE_LOCK],
        );
        if (!rows[0]?.locked) return 0;
      }
      const { rowCount } = await client.query(
        `DELETE FROM ${table} WHERE ${where} AND status <> 'pending'`,
        parameters.values,
      );
      return rowCount ?? 0;
    });
  }

  /** The shared filter rule (outbox-filter.ts) in PostgreSQL, `before` in the database's clock. */
  private whereOf(filter: OutboxFilter): { where: string; parameters: SqlParameters } {
    const parameters = new SqlParameters((index) => `$${String(index)}`);
    const { before } = filter;
    const inDatabaseTime =
      before === undefined ? filter : { ...filter, before: this.connection.clock.toDatabase(before) };
    return { where: outboxFilterSql(inDatabaseTime, POSTGRES_FILTER_DIALECT, parameters), parameters };
  }
}
