import type {
  OutboxAdminStore,
  OutboxCounts,
  OutboxFilter,
  PurgeOptions,
} from '../../kernel/outbox-admin-store.interface.js';
import type { OutboxEntry, OutboxStatus } from '../../kernel/outbox-entry.interface.js';
import { outboxFilterSql } from '../outbox-filter.js';
import { SqlParameters } from '../sql-parameters.js';
import type { MysqlOutboxConnection } from './mysql-outbox.connection.js';
import {
  at,
  MYSQL_FILTER_DIALECT,
  mysqlRowToEntry,
  OUTBOX_COLUMNS,
  tableLockName,
  type MysqlOutboxRow,
} from './mysql-outbox.sql.js';
import { MysqlPoolTimeoutError } from './mysql-pool-timeout.error.js';

/** The operators' queries on a MySQL outbox, and the dispatchers' retention purge. */
export class MysqlOutboxAdmin implements OutboxAdminStore {
  constructor(
    private readonly connection: MysqlOutboxConnection,
    /** How long an operator's purge waits for one in progress, in ms. */
    private readonly purgeWaitMs: number,
  ) {}

  async list(filter: OutboxFilter, limit: number): Promise<OutboxEntry[]> {
    const { clock, table } = this.connection;
    await this.connection.whenReady();
    const { where, parameters } = this.whereOf(filter);
    const rows = await this.connection.query<MysqlOutboxRow[]>(
      'listing messages',
      `SELECT ${OUTBOX_COLUMNS} FROM ${table} WHERE ${where} ORDER BY sequence LIMIT ${parameters.bind(Math.min(limit, Number.MAX_SAFE_INTEGER))}`,
      parameters.values,
    );
    return rows.map((row) => mysqlRowToEntry(row, clock));
  }

  async counts(): Promise<OutboxCounts> {
    const { table } = this.connection;
    await this.connection.whenReady();
    const counts = { pending: 0, delivered: 0, dead: 0 };
    const rows = await this.connection.query<{ status: OutboxStatus; n: number | string }[]>(
      'counting messages',
      `SELECT status, COUNT(*) AS n FROM ${table} GROUP BY status`,
    );
    for (const { status, n } of rows) counts[status] = Number(n);
    return counts;
  }

  async retry(filter: OutboxFilter, now: number): Promise<number> {
    const { clock, table } = this.connection;
    await this.connection.whenReady();
    const parameters = new SqlParameters(() => '?');
    const next = at(parameters.bind(clock.toDatabase(now)));
    const where = this.whereOf({ ...filter, status: 'dead' }, parameters).where;
    const result = await this.connection.inTransaction('retrying messages', async (connection) => {
      const [header] = (await connection.query(
        `UPDATE ${table} SET status = 'pending', attempts = 0, settled_at = NULL, dead_reason = NULL, holds_key = FALSE,
           next_attempt_at = ${next} WHERE ${where}`,
        parameters.values,
      )) as unknown as [{ affectedRows: number }];
      return header.affectedRows;
    });
    return result ?? 0;
  }

  /**
   * With `skipIfBusy`, one instance's retention purge runs and the others' skip (a named lock
   * tried without waiting); an operator's purge waits for the one in progress.
   * @throws MysqlPoolTimeoutError (as a rejection) when an operator's purge waited `acquireTimeoutMs` for another.
   */
  async purge(filter: OutboxFilter, options: PurgeOptions = {}): Promise<number> {
    const { table } = this.connection;
    await this.connection.whenReady();
    const { where, parameters } = this.whereOf(filter);
    const skip = options.skipIfBusy === true;
    const deleted = await this.connection.inTransaction(
      'a purge',
      async (connection) => {
        const [header] = (await connection.query(
          `DELETE FROM ${table} WHERE ${where} AND status <> 'pending'`,
          parameters.values,
        )) as unknown as [{ affectedRows: number }];
        return header.affectedRows;
      },
      { name: tableLockName(table, 'purge'), timeoutMs: skip ? 0 : this.purgeWaitMs },
    );
    if (deleted !== undefined) return deleted;
    if (skip) return 0;
    throw new MysqlPoolTimeoutError('a purge', this.purgeWaitMs, 'the turn of the purge in progress');
  }

  /** The shared filter rule (outbox-filter.ts) in MySQL, `before` in the database's clock. */
  private whereOf(
    filter: OutboxFilter,
    parameters = new SqlParameters(() => '?'),
  ): { where: string; parameters: SqlParameters } {
    const { before } = filter;
    const inDatabaseTime =
      before === undefined ? filter : { ...filter, before: this.connection.clock.toDatabase(before) };
    return { where: outboxFilterSql(inDatabaseTime, MYSQL_FILTER_DIALECT, parameters), parameters };
  }
}
