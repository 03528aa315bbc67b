import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Message } from '../../kernel/message.interface.js';
import { OutboxWriteError } from '../../kernel/outbox.errors.js';
import type {
  AppendOptions,
  ClaimRequest,
  FailedAttempt,
  OutboxCounts,
  OutboxEntry,
  OutboxFilter,
  PurgeOptions,
  SqlStatement,
  TakenOverLeases,
  TransactionalOutboxStore,
} from '../../kernel/outbox-store.interface.js';
import { MysqlInsertWatch } from './mysql-insert.watch.js';
import { MysqlOutboxAdmin } from './mysql-outbox.admin.js';
import { MysqlOutboxConnection } from './mysql-outbox.connection.js';
import { MysqlOutboxDelivery } from './mysql-outbox.delivery.js';
import { resolveMysqlOutboxOptions, type MysqlOutboxStoreOptions } from './mysql-outbox.options.js';
import { MYSQL_MAX_NAME_LENGTH } from './mysql-outbox.schema.js';
import { at, keyLocksSubquery, NOW } from './mysql-outbox.sql.js';
import { MysqlOwnerLocks } from './mysql-owner.locks.js';

export type { MysqlOutboxStoreOptions } from './mysql-outbox.options.js';

/**
 * A durable outbox in a MySQL (8.0+) or MariaDB (10.6+) table, shared by any number of
 * application instances, and able to join the application's transactions
 * (`appendStatement()`, `?` placeholders), with the PostgreSQL store's guarantees:
 *
 * - Claims take turns per table (a named lock, `GET_LOCK`, held until the claim committed) and
 *   lease rows `FOR UPDATE SKIP LOCKED`: a message is sent by one dispatcher at a time, and a
 *   topic by one dispatcher at a time, so per-topic order holds across instances.
 * - Lease expiry is judged by the database's clock (`UTC_TIMESTAMP(3)`), in SQL.
 * - A dispatcher that dies leaves leases that expire after `leaseMs`; sooner when an instance
 *   starts: each dispatcher holds a named lock for its owner id on a connection of its own, and
 *   a starting one takes over the leases of the owners whose lock is free (`takeOverLeases`).
 * - Retention purges run on one instance at a time (a named lock tried without waiting).
 * - No wait for a connection of the pool lasts longer than `acquireTimeoutMs` (`MysqlPoolTimeoutError`).
 * - Wake-up: MySQL has no LISTEN/NOTIFY. This process's appends wake its dispatcher at once;
 *   other instances' rows are found by a cheap look every `pollIntervalMs` (default 250 ms).
 * - The schema is versioned (`mysqlOutboxMigrations()`); start-up refuses a table behind.
 *
 * Server versions are checked at start-up: older ones fail with an error naming the version.
 * Needs the `mysql2` package.
 *
 * @example
 * ```ts
 * MessagingModule.forRoot({
 *   outbox: new MysqlOutboxStore({ connectionString: 'mysql://app@db:3306/shop', createSchema: true }),
 * });
 * ```
 */
export class MysqlOutboxStore implements TransactionalOutboxStore, OnModuleInit, OnApplicationShutdown {
  readonly durable = true;
  /** Claims and deletes are round trips: under steady load, batches gathered over 10 ms cost far fewer of them. */
  readonly preferredBatchWindowMs = 10;
  /** The outbox table. */
  readonly table: string;
  private readonly connection: MysqlOutboxConnection;
  private readonly delivery: MysqlOutboxDelivery;
  private readonly admin: MysqlOutboxAdmin;
  private readonly locks: MysqlOwnerLocks;
  private readonly inserts: MysqlInsertWatch;

  /**
   * Checks the options at once; connects in `onModuleInit()` (or at first use).
   * @throws MessagingOptionsError listing every bad option.
   * @throws MessagingError when `mysql2` is not installed.
   */
  constructor(options: MysqlOutboxStoreOptions) {
    const resolved = resolveMysqlOutboxOptions(options);
    this.table = resolved.table;
    this.connection = new MysqlOutboxConnection(resolved);
    this.delivery = new MysqlOutboxDelivery(this.connection);
    this.admin = new MysqlOutboxAdmin(this.connection, resolved.acquireTimeoutMs);
    this.locks = new MysqlOwnerLocks(this.connection);
    this.inserts = new MysqlInsertWatch(this.connection, resolved.pollIntervalMs);
  }

  /**
   * Connects, checks the server's version, migrates the schema if asked (`createSchema`), and
   * checks its version: a wrong URL, a server too old, or a table missing or behind fails
   * start-up; a table ahead (a newer instance migrated it) is served with a warning.
   * @throws MessagingOptionsError (as a rejection) naming the connection options, or the table,
   *   its schema version and the command that migrates it, or `pool` when it is too small.
   * @throws MysqlPoolTimeoutError (as a rejection) when no connection of the pool came within `acquireTimeoutMs`.
   */
  onModuleInit(): Promise<void> {
    return this.connection.whenReady();
  }

  /**
   * Calls `listener` when messages were inserted: at once for this store's `append()`, within
   * `pollIntervalMs` for rows other instances or transactions inserted.
   */
  watch(listener: () => void): void {
    this.inserts.add(listener);
  }

  /**
   * See `TransactionalOutboxStore.appendStatement()`: one multi-row `INSERT` with `?`
   * placeholders (`placeholders: 'question'`), for `mysql2`, Knex, TypeORM, ... on MySQL.
   * `options.availableAt` times are translated into the database's clock as last measured; a
   * delayed message with a key holds its key until due. Its first row first locks the rows of
   * the messages' ordering keys in `<table>_key_locks` until the transaction ends (see
   * `keyLocksSubquery()`), so each key's sequence follows commit order. An id already in the
   * table (or earlier in `messages`) is skipped: the first message with it is kept.
   * @throws MessagingError when an id, topic or key is longer than 255 characters (the columns'
   *   size: MySQL without strict mode would cut it).
   */
  appendStatement(messages: readonly Message[], options?: AppendOptions): SqlStatement {
    const { clock } = this.connection;
    const availableAt = options?.availableAt;
    const values: unknown[] = [];
    const locks = keyLocksSubquery(
      this.table,
      messages.map(({ key }) => key),
    );
    const rows = messages.map(({ id, topic, key, body, headers, timestamp }, index) => {
      for (const [name, value] of [
        ['id', id],
        ['topic', topic],
        ['key', key ?? ''],
      ] as const) {
        if (value.length > MYSQL_MAX_NAME_LENGTH)
          throw new OutboxWriteError(
            messages,
            `MySQL ${this.table}: the ${name} of message ${id.slice(0, 40)} is longer than ${String(MYSQL_MAX_NAME_LENGTH)} characters`,
          );
      }
      const due = availableAt?.get(id);
      values.push(id, topic, key, JSON.stringify(body), JSON.stringify(headers), timestamp);
      const created = index === 0 && locks !== undefined ? `IF(${locks} >= 0, ${NOW}, NULL)` : NOW;
      if (due === undefined) return `(?, ?, ?, ?, ?, ?, ${created}, NULL, FALSE)`;
      values.push(clock.toDatabase(due));
      return `(?, ?, ?, ?, ?, ?, ${created}, ${at('?')}, ${key === null ? 'FALSE' : 'TRUE'})`;
    });
    return {
      // Multi-row VALUES: auto-increment sequences follow the messages' order.
      text: `INSERT INTO ${this.table} (id, topic, ordering_key, body, headers, \`timestamp\`, created_at, next_attempt_at, holds_key)
        VALUES ${rows.join(', ')} ON DUPLICATE KEY UPDATE id = id`,
      values,
      placeholders: 'question',
    };
  }

  async append(messages: readonly Message[], options?: AppendOptions): Promise<void> {
    if (messages.length === 0) return;
    try {
      await this.connection.whenReady();
      const { text, values } = this.appendStatement(messages, options);
      await this.connection.query('an insert', text, [...values]);
    } catch (error) {
      if (error instanceof OutboxWriteError) throw error;
      throw new OutboxWriteError(
        messages,
        `MySQL ${this.table}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    this.inserts.notify();
  }

  claim(request: ClaimRequest): Promise<OutboxEntry[]> {
    return this.delivery.claim(request);
  }

  markDelivered(owner: string, ids: readonly string[], now: number, retain: boolean): Promise<void> {
    return this.delivery.markDelivered(owner, ids, now, retain);
  }

  reschedule(owner: string, failures: readonly FailedAttempt[], now: number): Promise<void> {
    return this.delivery.reschedule(owner, failures, now);
  }

  nextDueAt(): Promise<number | undefined> {
    return this.delivery.nextDueAt();
  }

  /**
   * Holds `owner`'s named lock from now until `close()`, then gives back the unexpired leases of
   * owners whose lock is free (their session ended: the process exited or was killed).
   * See `OutboxDeliveryStore.takeOverLeases()`.
   * @throws Error (as a rejection) from MySQL; `MessagingOptionsError` when it cannot connect.
   */
  async takeOverLeases(owner: string): Promise<readonly TakenOverLeases[]> {
    await this.connection.whenReady();
    return this.locks.takeOver(owner);
  }

  list(filter: OutboxFilter, limit: number): Promise<OutboxEntry[]> {
    return this.admin.list(filter, limit);
  }

  counts(): Promise<OutboxCounts> {
    return this.admin.counts();
  }

  retry(filter: OutboxFilter, now: number): Promise<number> {
    return this.admin.retry(filter, now);
  }

  purge(filter: OutboxFilter, options?: PurgeOptions): Promise<number> {
    return this.admin.purge(filter, options);
  }

  /** Stops looking for inserts, releases the lease owner locks and ends the pool the store opened (not one it was given). */
  async close(): Promise<void> {
    this.inserts.stop();
    await this.locks.close();
    await this.connection.close();
  }

  /** Closes the store when the application shuts down (after the dispatcher drained). */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}
