import { Logger } from '@nestjs/common';
import type { Connection, Pool, PoolConnection, PoolOptions } from 'mysql2/promise';
import type * as Mysql from 'mysql2/promise';
import { MessagingError, MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { DatabaseClock } from '../database-clock.js';
import { schemaAheadWarning, schemaNotReadyError, type SchemaStatus } from '../schema-version.js';
import { loadMysql2 } from './load-mysql2.js';
import type { ResolvedMysqlOutboxOptions } from './mysql-outbox.options.js';
import { ms, NOW } from './mysql-outbox.sql.js';
import { MysqlPoolCheckout } from './mysql-pool.checkout.js';
import { migrateMysqlOutbox, mysqlSchemaStatus } from './mysql-schema.migrator.js';
import { unsupportedMysqlServer } from './mysql-server.version.js';

/** A connection outside the pool's rotation (a lease owner's lock), kept until `end()`. */
export interface DedicatedMysqlConnection {
  readonly connection: Connection;
  /** Closes it (one of the application's pool is destroyed, not returned: it holds a lock). */
  end(): Promise<void>;
}

const OPTIONS = 'MysqlOutboxStore options';

/**
 * The MySQL store's pool and clock, and its lazy start: the first use (or `onModuleInit()`)
 * connects, checks the server's version, migrates the schema if asked (`createSchema`) and
 * checks its version; a failed start is tried again at the next use.
 */
export class MysqlOutboxConnection {
  readonly pool: Pool;
  /** This process's clock translated into the database's. */
  readonly clock: DatabaseClock;
  readonly table: string;
  private readonly ownsPool: boolean;
  private readonly mysql: typeof Mysql;
  /** The settings of the pool the store opened; `undefined` for the application's pool. */
  private readonly config: PoolOptions | undefined;
  private readonly createSchema: boolean;
  private readonly checkout: MysqlPoolCheckout;
  private readonly logger = new Logger('MysqlOutboxStore');
  private ready: Promise<void> | undefined;
  private closed = false;

  /**
   * Opens no connection yet. Loads `mysql2`.
   * @throws MessagingError when `mysql2` is not installed.
   */
  constructor(options: ResolvedMysqlOutboxOptions) {
    const mysql = (this.mysql = loadMysql2());
    this.table = options.table;
    this.createSchema = options.createSchema;
    this.ownsPool = !('given' in options.pool);
    this.config = 'config' in options.pool ? options.pool.config : undefined;
    if ('given' in options.pool) {
      const given = options.pool.given as Pool & { promise?: () => Pool };
      // A callback-API pool has promise(); a promise pool has not.
      this.pool = typeof given.promise === 'function' ? given.promise() : given;
    } else {
      this.pool = mysql.createPool(options.pool.config as PoolOptions);
    }
    this.checkout = new MysqlPoolCheckout(this.pool, options.acquireTimeoutMs);
    this.clock = new DatabaseClock(async () => {
      const rows = await this.query<{ now: number | string }[]>('measuring the clock', `SELECT ${ms(NOW)} AS now`);
      return rows.length === 0 ? undefined : Number(rows[0].now);
    });
  }

  /**
   * Resolves once the store is started (at once after the first success).
   * @throws MessagingOptionsError (as a rejection) when MySQL cannot be reached, is too old, or the
   *   table is missing or at an older schema version (and `createSchema` is off).
   */
  whenReady(): Promise<void> {
    this.ready ??= this.open().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  /**
   * Runs one statement on a connection of the pool (`purpose` names it in errors); resolves to
   * its rows (a SELECT) or its result header (`affectedRows`).
   * @throws MysqlPoolTimeoutError or MessagingOptionsError (as a rejection) when no connection comes.
   */
  async query<T>(purpose: string, sql: string, values?: unknown[]): Promise<T> {
    const connection = await this.checkout.connect(purpose);
    try {
      const [result] = await connection.query(sql, values);
      connection.release();
      return result as T;
    } catch (error) {
      // A connection whose statement failed is not reused (it may be broken).
      connection.destroy();
      throw error;
    }
  }

  /**
   * Runs `work` in a READ COMMITTED transaction on one connection (no gap locks: appends never
   * wait for it; each statement sees what committed before it): committed if it resolves,
   * rolled back if it throws. With `lock` (a named lock, as SQL), the transaction runs while
   * holding it, taken for at most `timeoutMs` before and released after the commit.
   * @returns `undefined` when `lock` was busy for `timeoutMs`.
   */
  async inTransaction<T>(
    purpose: string,
    work: (connection: PoolConnection) => Promise<T>,
    lock?: { readonly name: string; readonly timeoutMs: number },
  ): Promise<T | undefined> {
    const connection = await this.checkout.connect(purpose);
    let healthy = true;
    let locked = false;
    try {
      if (lock !== undefined) {
        const [[row]] = (await connection.query(
          `SELECT GET_LOCK(${lock.name}, ${String(lock.timeoutMs / 1000)}) AS locked`,
        )) as unknown as [[{ locked: number | string | null }]];
        if (Number(row.locked) !== 1) return undefined;
        locked = true;
      }
      await connection.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await connection.query('START TRANSACTION');
      try {
        const result = await work(connection);
        await connection.query('COMMIT');
        return result;
      } catch (error) {
        await connection.query('ROLLBACK').catch(() => {
          healthy = false;
        });
        throw error;
      }
    } catch (error) {
      healthy = false;
      throw error;
    } finally {
      if (locked) await connection.query(`DO RELEASE_LOCK(${lock?.name ?? "''"})`).catch(() => (healthy = false));
      // A connection that may still hold the lock or a transaction is closed: the server then frees both.
      if (healthy) connection.release();
      else connection.destroy();
    }
  }

  /**
   * Opens a connection of its own: a new one with the store's settings, or, for the
   * application's pool (whose settings are its own), one checked out of it for good.
   * @throws Error (as a rejection) from `mysql2` when it cannot connect; see `query()` for the application's pool.
   */
  async dedicated(purpose: string): Promise<DedicatedMysqlConnection> {
    if (this.config === undefined) return this.checkout.keep(purpose);
    const connection = await this.mysql.createConnection(this.config);
    return {
      connection,
      end: async () => {
        await connection.end().catch(() => {
          connection.destroy();
        });
      },
    };
  }

  /** Ends the pool the store opened (not one it was given). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool.end();
  }

  private async open(): Promise<void> {
    let status: SchemaStatus;
    try {
      await this.checkServer();
      status = await this.schemaStatus();
    } catch (error) {
      if (error instanceof MessagingError) throw error;
      // The first query: a refused connection or a bad password is a configuration problem.
      throw new MessagingOptionsError(
        [
          `connectionString, connection, pool: cannot reach MySQL (${error instanceof Error ? error.message : String(error)}); ` +
            'check the host, port, database and credentials, and that the server is running',
        ],
        OPTIONS,
      );
    }
    if ((status.state === 'missing' || status.state === 'behind') && this.createSchema) {
      const connection = await this.checkout.connect('migrating the schema');
      try {
        const { from, to } = await migrateMysqlOutbox(connection, this.table);
        connection.release();
        if (from > 0 && from !== to)
          this.logger.log(`Migrated ${this.table} from schema version ${String(from)} to ${String(to)}`);
      } catch (error) {
        connection.destroy();
        throw error;
      }
      status = await this.schemaStatus();
    }
    if (status.state === 'missing' || status.state === 'behind') {
      throw schemaNotReadyError(
        status,
        'MysqlOutboxStore',
        `npx nestjs-messaging outbox migrate --mysql <url> --table ${this.table}`,
      );
    }
    if (status.state === 'ahead') this.logger.warn(schemaAheadWarning(status));
    await this.clock.refresh();
  }

  /** The server must be recent enough, and name a database unless the table does. */
  private async checkServer(): Promise<void> {
    const [row] = await this.query<{ version: string; db: string | null }[]>(
      'start-up',
      'SELECT VERSION() AS version, DATABASE() AS db',
    );
    const tooOld = unsupportedMysqlServer(row.version);
    if (tooOld !== undefined)
      throw new MessagingOptionsError([`connectionString, connection, pool: ${tooOld}`], OPTIONS);
    if (row.db === null && !this.table.includes('.'))
      throw new MessagingOptionsError(
        [
          'connectionString, connection, pool: the connection has no database: name one in the URL or the settings, or give table as database.table',
        ],
        OPTIONS,
      );
    if (!this.ownsPool && this.checkout.limit < 2)
      throw new MessagingOptionsError(
        [
          `pool: its connectionLimit is ${String(this.checkout.limit)}, but MysqlOutboxStore keeps 1 connection for good ` +
            '(its lease-owner lock) and needs 1 more for its queries: give it connectionLimit >= 2, or pass connectionString or connection',
        ],
        OPTIONS,
      );
  }

  private async schemaStatus(): Promise<SchemaStatus> {
    const connection = await this.checkout.connect('start-up');
    try {
      const status = await mysqlSchemaStatus(connection, this.table);
      connection.release();
      return status;
    } catch (error) {
      connection.destroy();
      throw error;
    }
  }
}
