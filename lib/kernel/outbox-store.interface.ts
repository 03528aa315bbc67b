import { Inject } from '@nestjs/common';
import type { Message } from './message.interface.js';
import type { OutboxAdminStore } from './outbox-admin-store.interface.js';
import type { AppendOptions, OutboxDeliveryStore } from './outbox-delivery-store.interface.js';

export type { AttemptRecord, DeadReason, OutboxEntry, OutboxStatus } from './outbox-entry.interface.js';
export { ATTEMPT_HISTORY_LIMIT } from './outbox-entry.interface.js';
export type {
  AppendOptions,
  ClaimRequest,
  FailedAttempt,
  OutboxDeliveryStore,
  TakenOverLeases,
} from './outbox-delivery-store.interface.js';
export type { OutboxAdminStore, OutboxCounts, OutboxFilter, PurgeOptions } from './outbox-admin-store.interface.js';

/**
 * How an `SqlStatement` marks its parameters: `'dollar'` numbered `$1`, `$2`, ... as `pg` (and
 * PostgreSQL) writes them; `'question'` one `?` per value, in order, as `mysql2` (and MySQL,
 * MariaDB, Knex) writes them.
 */
export type SqlPlaceholders = 'dollar' | 'question';

/** One SQL statement with positional parameters. */
export interface SqlStatement {
  /** The SQL, its parameters written as `placeholders` says. */
  readonly text: string;
  /** The parameters' values, in order. */
  readonly values: readonly unknown[];
  /**
   * How `text` marks its parameters. Absent: `'dollar'` (`$1`, `$2`, ...), as every statement
   * of `PostgresOutboxStore` is written; `MysqlOutboxStore` writes `'question'`.
   */
  readonly placeholders?: SqlPlaceholders;
}

/**
 * Storage of messages between the request that accepted them and the bus,
 * with leases so that one dispatcher at a time sends a message, and a
 * dispatcher that died gives its messages back when the lease expires.
 *
 * Two contracts in one, as `MessagingModule` takes it:
 * - `OutboxDeliveryStore`: what the request side and the dispatcher call
 *   (`append`, `claim`, `markDelivered`, `reschedule`, `nextDueAt`, the
 *   optional `takeOverLeases`, `watch` and `preferredBatchWindowMs`, `durable`), with the
 *   per-topic order and lease rules;
 * - `OutboxAdminStore`: what operators call through `OutboxAdmin` and the
 *   `npx nestjs-messaging outbox` command (`list`, `counts`, `retry`, `purge`).
 *
 * The library ships `MemoryOutboxStore` (the default), `SqliteOutboxStore`
 * and `PostgresOutboxStore`; a store may also implement Nest lifecycle hooks.
 */
export interface OutboxStore extends OutboxDeliveryStore, OutboxAdminStore {}

/**
 * An outbox in the application's own SQL database, whose rows can be written
 * by the application's transaction: the message then commits or rolls back
 * with the change it describes. `PostgresOutboxStore` is one.
 */
export interface TransactionalOutboxStore extends OutboxStore {
  /**
   * The statement that appends `messages` as `append()` would (all or none,
   * in order, with `options.availableAt`), for a transaction to run on its own
   * connection. Builds text only: it neither connects nor throws for valid messages.
   */
  appendStatement(messages: readonly Message[], options?: AppendOptions): SqlStatement;
}

/** Whether `store` can be written by the application's transactions. */
export function isTransactionalOutboxStore(store: OutboxStore): store is TransactionalOutboxStore {
  return typeof (store as Partial<TransactionalOutboxStore>).appendStatement === 'function';
}

/** Injection token of the configured `OutboxStore`: `@Inject(OutboxStore)` or `@InjectOutboxStore()`. */
export const OutboxStore: unique symbol = Symbol('nestjs-messaging:OutboxStore');

/** Injects the outbox store the module was configured with. */
export const InjectOutboxStore = (): PropertyDecorator & ParameterDecorator => Inject(OutboxStore);
