import type { OnApplicationShutdown } from '@nestjs/common';
import type { Message } from '../../kernel/message.interface.js';
import type { AppendOptions, TakenOverLeases } from '../../kernel/outbox-delivery-store.interface.js';
import type {
  ClaimRequest,
  FailedAttempt,
  OutboxCounts,
  OutboxEntry,
  OutboxFilter,
  OutboxStore,
  PurgeOptions,
} from '../../kernel/outbox-store.interface.js';
import { SqliteOutboxAdmin } from './sqlite-outbox.admin.js';
import { SqliteOutboxAppender } from './sqlite-outbox.appender.js';
import { whenUnlocked } from './sqlite-busy.js';
import { openSqliteOutbox, type SqliteOutboxDatabase } from './sqlite-outbox.database.js';
import { SqliteOutboxDelivery } from './sqlite-outbox.delivery.js';
import { loadBetterSqlite3 } from './load-better-sqlite3.js';
import { SqliteOwnerLocks } from './sqlite-owner.locks.js';
import { resolveSqliteOutboxOptions, type SqliteOutboxStoreOptions } from './sqlite-outbox.options.js';

export type { SqliteOutboxStoreOptions } from './sqlite-outbox.options.js';
export { SqliteBusyError } from './sqlite-busy.js';

/**
 * A durable outbox in one SQLite file (WAL mode), for a single application
 * instance: zero set-up, survives `kill -9`. Requests that finish in the same
 * event-loop turn share one transaction and one fsync (group commit). Needs
 * the `better-sqlite3` package, version 13 or newer.
 *
 * Both halves of `OutboxStore`: delivery (`SqliteOutboxAppender`,
 * `SqliteOutboxDelivery`) and operators' queries (`SqliteOutboxAdmin`).
 *
 * **Locks.** While another process holds the file's lock (the outbox
 * command, a backup), every operation waits for it on a timer, never on the
 * event loop, at most `busyTimeoutMs`; then it rejects with nothing written:
 * `append()` with an `OutboxWriteError` (the request fails), the others with
 * a `SqliteBusyError`. A retention purge (`skipIfBusy`) skips at once.
 *
 * **Crash recovery.** Each dispatcher's owner id holds, while the store is open, an exclusive
 * lock on a file of its own, `<path>-owners/<owner>.lock` (the folder is created next to the
 * database, which must be writable). The kernel releases it when the process dies, even by
 * `kill -9`, so a dispatcher that starts (`takeOverLeases`) gives back at once the unexpired
 * leases of owners whose lock is free, and removes their files; a live owner's lock is held,
 * whether it runs in another process, container or PID namespace sharing the file or in this
 * process with its own store. No PID or clock is trusted. An owner without a file (written by
 * an older version) cannot be proven gone: its leases end on expiry (`leaseMs`). Like the
 * database's own locks, this needs a local file system (not NFS).
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
  /**
   * A claim is a write transaction with a fixed cost far above a message's share (its per-key
   * rule is one query over the pending rows): under steady load, batches gathered over 10 ms cost
   * far fewer of them.
   */
  readonly preferredBatchWindowMs = 10;
  /** The database file. */
  readonly path: string;
  private readonly database: SqliteOutboxDatabase;
  private readonly appender: SqliteOutboxAppender;
  private readonly delivery: SqliteOutboxDelivery;
  private readonly admin: SqliteOutboxAdmin;
  private readonly busyTimeoutMs: number;
  private readonly locks: SqliteOwnerLocks;

  /**
   * Opens (and creates) the database at once, and migrates its table to this version's schema
   * (unless `createSchema: false`): a bad path fails at start-up.
   * @throws MessagingOptionsError listing every bad option, naming the file that cannot be opened,
   *   or (`createSchema: false`) naming the schema versions and the command that migrates the table.
   * @throws MessagingError when `better-sqlite3` is missing or older than version 13.
   */
  constructor(options: SqliteOutboxStoreOptions) {
    const resolved = resolveSqliteOutboxOptions(options);
    this.path = resolved.path;
    this.busyTimeoutMs = resolved.busyTimeoutMs;
    this.database = openSqliteOutbox(resolved);
    const { db, walSync } = this.database;
    this.appender = new SqliteOutboxAppender(db, resolved.table, resolved.path, walSync, resolved.busyTimeoutMs);
    this.delivery = new SqliteOutboxDelivery(db, resolved.table);
    this.admin = new SqliteOutboxAdmin(db, resolved.table, (operation, what) => this.whenUnlocked(operation, what));
    this.locks = new SqliteOwnerLocks(loadBetterSqlite3(), resolved.path, {
      giveBack: (owners) => this.whenUnlocked(() => this.delivery.giveBack(owners), 'taking over leases'),
      holdsLeases: (owner) => this.delivery.holdsLeases(owner),
    });
  }

  append(messages: readonly Message[], options?: AppendOptions): Promise<void> {
    return this.appender.append(messages, options);
  }

  /** @throws SqliteBusyError (as a rejection) when the database stayed locked for `busyTimeoutMs`; so do the others. */
  claim(request: ClaimRequest): Promise<OutboxEntry[]> {
    return this.whenUnlocked(() => this.delivery.claim(request), 'claiming messages');
  }

  markDelivered(owner: string, ids: readonly string[], now: number, retain: boolean): Promise<void> {
    return this.whenUnlocked(() => {
      this.delivery.markDelivered(owner, ids, now, retain);
    }, 'marking messages delivered');
  }

  reschedule(owner: string, failures: readonly FailedAttempt[], now: number): Promise<void> {
    return this.whenUnlocked(() => {
      this.delivery.reschedule(owner, failures, now);
    }, 'rescheduling messages');
  }

  nextDueAt(): Promise<number | undefined> {
    return this.whenUnlocked(() => this.delivery.nextDueAt(), 'looking for the next due message');
  }

  /**
   * Holds `owner`'s lock file from now until `close()`, then gives back the unexpired leases of
   * owners whose lock file is free (their process ended), in one transaction, and removes their
   * files. See "Crash recovery" above and `OutboxDeliveryStore.takeOverLeases()`.
   * @throws SqliteBusyError (as a rejection) when the database stayed locked for `busyTimeoutMs`.
   */
  takeOverLeases(owner: string): Promise<readonly TakenOverLeases[]> {
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

  /**
   * Closes the database once appends still waiting are written and synced (or,
   * while another process holds the lock, given up after `busyTimeoutMs`), and releases the
   * owners' lock files (removed, unless their owner still holds leases).
   */
  async close(): Promise<void> {
    const { db, walSync } = this.database;
    if (!db.open) return;
    await this.appender.flush();
    await walSync?.close();
    this.locks.close();
    db.close();
  }

  /** Runs one synchronous operation, waiting for another connection's lock on a timer (`whenUnlocked`). */
  private whenUnlocked<T>(operation: () => T, what: string): Promise<T> {
    return whenUnlocked(operation, this.busyTimeoutMs, this.path, what);
  }

  /** Closes the database when the application shuts down (after the dispatcher drained). */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}
