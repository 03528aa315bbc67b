import type { OnApplicationShutdown } from '@nestjs/common';
import type { Message } from '../../kernel/message.interface.js';
import type {
  ClaimRequest,
  FailedAttempt,
  OutboxCounts,
  OutboxEntry,
  OutboxFilter,
  OutboxStore,
} from '../../kernel/outbox-store.interface.js';
import { SqliteOutboxAdmin } from './sqlite-outbox.admin.js';
import { SqliteOutboxAppender } from './sqlite-outbox.appender.js';
import { openSqliteOutbox, type SqliteOutboxDatabase } from './sqlite-outbox.database.js';
import { SqliteOutboxDelivery } from './sqlite-outbox.delivery.js';
import { resolveSqliteOutboxOptions, type SqliteOutboxStoreOptions } from './sqlite-outbox.options.js';

export type { SqliteOutboxStoreOptions } from './sqlite-outbox.options.js';

/**
 * A durable outbox in one SQLite file (WAL mode), for a single application
 * instance: zero set-up, survives `kill -9`. Requests that finish in the same
 * event-loop turn share one transaction and one fsync (group commit). Needs
 * the `better-sqlite3` package, version 13 or newer.
 *
 * Both halves of `OutboxStore`: delivery (`SqliteOutboxAppender`,
 * `SqliteOutboxDelivery`) and operators' queries (`SqliteOutboxAdmin`).
 *
 * @example
 * ```ts
 * MessagingModule.forRoot({
 *   messenger: new AmqpMessenger({ urls: ['amqp://broker:5672'] }),
 *   outbox: new SqliteOutboxStore({ path: '/var/lib/my-app/outbox.db' }),
 * });
 * ```
 */
export class SqliteOutboxStore implements OutboxStore, OnApplicationShutdown {
  readonly durable = true;
  /** The database file. */
  readonly path: string;
  private readonly database: SqliteOutboxDatabase;
  private readonly appender: SqliteOutboxAppender;
  private readonly delivery: SqliteOutboxDelivery;
  private readonly admin: SqliteOutboxAdmin;

  /**
   * Opens (and creates) the database at once: a bad path fails at start-up.
   * @throws MessagingOptionsError listing every bad option, or naming the file that cannot be opened.
   * @throws MessagingError when `better-sqlite3` is missing or older than version 13.
   */
  constructor(options: SqliteOutboxStoreOptions) {
    const resolved = resolveSqliteOutboxOptions(options);
    this.path = resolved.path;
    this.database = openSqliteOutbox(resolved);
    const { db, walSync } = this.database;
    this.appender = new SqliteOutboxAppender(db, resolved.table, resolved.path, walSync);
    this.delivery = new SqliteOutboxDelivery(db, resolved.table);
    this.admin = new SqliteOutboxAdmin(db, resolved.table);
  }

  append(messages: readonly Message[]): Promise<void> {
    return this.appender.append(messages);
  }

  claim(request: ClaimRequest): Promise<OutboxEntry[]> {
    return Promise.resolve(this.delivery.claim(request));
  }

  markDelivered(owner: string, ids: readonly string[], now: number, retain: boolean): Promise<void> {
    this.delivery.markDelivered(owner, ids, now, retain);
    return Promise.resolve();
  }

  reschedule(owner: string, failures: readonly FailedAttempt[], now: number): Promise<void> {
    this.delivery.reschedule(owner, failures, now);
    return Promise.resolve();
  }

  nextDueAt(): Promise<number | undefined> {
    return Promise.resolve(this.delivery.nextDueAt());
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

  purge(filter: OutboxFilter): Promise<number> {
    return this.admin.purge(filter);
  }

  /** Closes the database once appends still waiting are written and synced. */
  async close(): Promise<void> {
    const { db, walSync } = this.database;
    if (!db.open) return;
    this.appender.commit();
    await walSync?.close();
    db.close();
  }

  /** Closes the database when the application shuts down (after the dispatcher drained). */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}
