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
import { PostgresOutboxAdmin } from './postgres-outbox.admin.js';
import { PostgresOutboxConnection } from './postgres-outbox.connection.js';
import { appendFunctionName } from './postgres-outbox.sql.js';
import { PostgresOutboxDelivery } from './postgres-outbox.delivery.js';
import { PostgresOwnerLocks } from './postgres-owner.locks.js';
import { resolvePostgresOutboxOptions, type PostgresOutboxStoreOptions } from './postgres-outbox.options.js';

export type { PostgresOutboxStoreOptions } from './postgres-outbox.options.js';

/**
 * A durable outbox in a PostgreSQL table, shared by any number of
 * application instances, and the store that makes messages transactional:
 * with `withTransactionalOutbox()`, a message added inside a
 * `@nestjs-cls/transactional` transaction is inserted by that transaction.
 *
 * - Claims run one at a time per table (a transaction-scoped advisory lock)
 *   and lease rows `FOR UPDATE SKIP LOCKED`: a message is sent by one
 *   dispatcher at a time, and a topic by one dispatcher at a time, so
 *   per-topic order holds across instances.
 * - Lease expiry is judged by the database's clock, in SQL: a wrong or jumping
 *   clock on one host, or a paused VM, never makes a live lease look expired.
 * - A dispatcher that dies leaves leases that expire after `leaseMs`; then any
 *   instance takes the messages over. Sooner when an instance starts: each
 *   dispatcher holds a session-level advisory lock for its owner id on a
 *   connection of its own, and a starting one takes over the leases of the
 *   owners whose lock is free (`takeOverLeases`). Two connections per store
 *   besides the pool: LISTEN and that lock (checked out of the application's
 *   pool for good when it gave one: start-up then checks the pool can give
 *   them plus one for queries, and fails naming `pool` if it cannot).
 * - No wait for a connection of the pool lasts longer than `acquireTimeoutMs`
 *   (`PostgresPoolTimeoutError`).
 * - Every instance LISTENs. The library's own inserts wake the process that
 *   wrote them (after the commit, for a transaction: `withTransactionalOutbox()`,
 *   and `TransactionalOutbox.add()` where the handle tells when it committed), and send no `NOTIFY`:
 *   PostgreSQL commits one notifying transaction at a time, database-wide.
 *   Other instances find those rows at their next poll (`dispatch.pollIntervalMs`).
 *   Inserts of other code (`appendStatement()` without `announcedLocally`,
 *   older versions of the library) fire the insert trigger's `NOTIFY`, which
 *   wakes every instance when the transaction commits.
 * - Times are kept in the database's clock, so hosts need not agree on the time.
 *
 * Both halves of `OutboxStore`: delivery (`PostgresOutboxDelivery`, appends
 * here) and operators' queries (`PostgresOutboxAdmin`), over one
 * `PostgresOutboxConnection`. Needs the `pg` package.
 *
 * @example
 * ```ts
 * MessagingModule.forRoot({
 *   outbox: new PostgresOutboxStore({ connectionString: process.env.DATABASE_URL }),
 * });
 * ```
 */
export class PostgresOutboxStore implements TransactionalOutboxStore, OnModuleInit, OnApplicationShutdown {
  readonly durable = true;
  /** Claims and deletes are round trips: under steady load, batches gathered over 10 ms cost far fewer of them. */
  readonly preferredBatchWindowMs = 10;
  /** The outbox table. */
  readonly table: string;
  private readonly connection: PostgresOutboxConnection;
  private readonly delivery: PostgresOutboxDelivery;
  private readonly admin: PostgresOutboxAdmin;
  private readonly locks: PostgresOwnerLocks;
  private readonly listeners: (() => void)[] = [];
  /** `appendStatement()`'s text: the append function, and the same without `NOTIFY`. */
  private readonly appendText: string;
  private readonly quietAppendText: string;

  /**
   * Checks the options at once; connects in `onModuleInit()` (or at first use).
   * @throws MessagingOptionsError listing every bad option.
   * @throws MessagingError when `pg` is not installed.
   */
  constructor(options: PostgresOutboxStoreOptions) {
    const resolved = resolvePostgresOutboxOptions(options);
    this.table = resolved.table;
    this.appendText = `SELECT ${appendFunctionName(this.table)}($1::json)`;
    this.quietAppendText = `SELECT ${appendFunctionName(this.table)}($1::json, false)`;
    this.connection = new PostgresOutboxConnection(resolved, () => {
      for (const listener of this.listeners) listener();
    });
    this.delivery = new PostgresOutboxDelivery(this.connection);
    this.admin = new PostgresOutboxAdmin(this.connection);
    this.locks = new PostgresOwnerLocks(this.connection);
  }

  /**
   * Connects, migrates the schema if asked (`createSchema`), and checks its version: a wrong URL, or a
   * table missing or behind, fails start-up; a table ahead (a newer instance migrated it) is served with a warning.
   * @throws MessagingOptionsError (as a rejection) naming the connection options, or the table, its
   *   schema version and the command that migrates it.
   *   or naming `pool` when the application's pool is too small for the connections the store keeps,
   *   or naming `table` when its append function is missing or this role may not execute it (with the fix).
   * @throws PostgresPoolTimeoutError (as a rejection) when no connection of the pool came within `acquireTimeoutMs`.
   */
  onModuleInit(): Promise<void> {
    return this.connection.whenReady();
  }

  /** Calls `listener` whenever messages were inserted by any process (PostgreSQL `NOTIFY`). */
  watch(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * See `TransactionalOutboxStore.appendStatement()`. `options.availableAt` times are translated
   * into the database's clock as last measured (not at all before the store first connected).
   */
  appendStatement(messages: readonly Message[], options?: AppendOptions): SqlStatement {
    const { clock } = this.connection;
    const availableAt = options?.availableAt;
    const rows = messages.map(({ id, topic, key, body, headers, timestamp }) => {
      const due = availableAt?.get(id);
      return { id, topic, key, body, headers, timestamp, due: due === undefined ? null : clock.toDatabase(due) };
    });
    return {
      // One parameter, once (Knex rewrites $n into ?), whatever the driver does with arrays; the
      // recordset keeps the messages' order. The function (schema version 4) takes the keys'
      // locks, then inserts: see postgresOutboxMigrations(). Announced by the caller, the rows
      // need no NOTIFY, which makes committing writers take turns database-wide.
      text: options?.announcedLocally === true ? this.quietAppendText : this.appendText,
      values: [JSON.stringify(rows)],
    };
  }

  async append(messages: readonly Message[], options?: AppendOptions): Promise<void> {
    try {
      await this.connection.whenReady();
      const { text, values } = this.appendStatement(messages, options);
      await this.connection.query('an insert', text, [...values]);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      // 55P03 lock_not_available: lock_timeout ran out (the store's pool sets it to acquireTimeoutMs).
      const lockWait =
        (error as { code?: unknown } | null)?.code === '55P03'
          ? ` (waited for the lock of an ordering key, which another transaction that wrote a message of the key holds until it ends)`
          : '';
      throw new OutboxWriteError(messages, `PostgreSQL ${this.table}: ${reason}${lockWait}`, { cause: error });
    }
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
   * Holds `owner`'s lock in the database from now until `close()`, then gives back the unexpired
   * leases of owners whose lock is free (their session ended: the process exited or was killed),
   * in one statement. See `OutboxDeliveryStore.takeOverLeases()`.
   * @throws Error (as a rejection) from PostgreSQL; `MessagingOptionsError` when it cannot connect.
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

  /** Releases the lease owner locks, stops listening and ends the pool the store opened (not one it was given). */
  async close(): Promise<void> {
    await this.locks.close();
    await this.connection.close();
  }

  /** Closes the store when the application shuts down (after the dispatcher drained). */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}
