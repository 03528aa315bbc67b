import { Inject } from '@nestjs/common';
import type { Message } from './message.interface.js';

/**
 * Where a stored message stands:
 * - `pending`: waiting for its first or next attempt (possibly leased to a dispatcher right now);
 * - `delivered`: accepted by the bus, kept only while `retainDeliveredMs` says so;
 * - `dead`: given up on after its attempts or age ran out; kept until retried or purged.
 */
export type OutboxStatus = 'pending' | 'delivered' | 'dead';

/** One message in an outbox, with its delivery state. */
export interface OutboxEntry {
  /** The message as it was accepted; its id never changes across retries and restarts. */
  readonly message: Message;
  readonly status: OutboxStatus;
  /** Failed attempts so far (0 for a message never tried or tried only while the bus was unreachable). */
  readonly attempts: number;
  /** When the message was stored, in ms since the epoch. */
  readonly createdAt: number;
  /** Earliest time of the next attempt, in ms since the epoch (pending messages). */
  readonly nextAttemptAt: number;
  /** Why the last attempt failed, if it did. */
  readonly lastError?: string;
  /** When the message was delivered or declared dead, in ms since the epoch. */
  readonly settledAt?: number;
  /** The dispatcher holding the message right now, and until when (pending messages). */
  readonly lease?: { readonly owner: string; readonly expiresAt: number };
}

/** What a dispatcher asks a store for. */
export interface ClaimRequest {
  /** Who claims: a unique id per dispatcher (per process). */
  readonly owner: string;
  /** At most this many messages. */
  readonly limit: number;
  /** The current time, in ms since the epoch. */
  readonly now: number;
  /** How long the lease lasts; after it, another dispatcher may claim the messages again. */
  readonly leaseMs: number;
}

/** The outcome of one failed attempt, for `OutboxStore.reschedule()`. */
export interface FailedAttempt {
  readonly id: string;
  /** Why it failed, as it will be shown to operators. */
  readonly error: string;
  /** Whether the attempt counts towards the message's attempts (not when the bus was unreachable). */
  readonly counted: boolean;
  /** When to try again; `undefined` declares the message dead. */
  readonly nextAttemptAt: number | undefined;
}

/** Selects messages for listing, retrying and purging. Fields combine with AND. */
export interface OutboxFilter {
  readonly status?: OutboxStatus;
  readonly ids?: readonly string[];
  readonly topic?: string;
  /** Only messages stored (pending) or settled (delivered, dead) before this time, in ms since the epoch. */
  readonly before?: number;
}

/** How a purge behaves when several processes share the store. */
export interface PurgeOptions {
  /**
   * Skip the purge (and return 0) when another process is purging the same
   * store right now: the dispatchers' retention purges use it, so instances
   * do not all run the same delete at once. Operators' purges wait instead.
   */
  readonly skipIfBusy?: boolean;
}

/** One SQL statement with positional parameters (`$1`, `$2`, ... as `pg` writes them). */
export interface SqlStatement {
  readonly text: string;
  readonly values: readonly unknown[];
}

/** How many messages are in each state. */
export type OutboxCounts = Readonly<Record<OutboxStatus, number>>;

/**
 * Storage of messages between the request that accepted them and the bus,
 * with leases so that one dispatcher at a time sends a message, and a
 * dispatcher that died gives its messages back when the lease expires.
 *
 * Implementations must keep **per-topic order** in `claim()`: due messages
 * are handed out oldest first, and a message only if no older pending
 * message of its topic is leased to another owner, so one dispatcher at a
 * time sends a topic. The caller's own leased messages (in flight) and
 * messages waiting for a retry are skipped: a failed message steps out of
 * line rather than holding its topic up. Stores shared by several processes
 * (a database) must make `claim()` atomic.
 *
 * The library ships `MemoryOutboxStore` (the default), `SqliteOutboxStore`
 * and `PostgresOutboxStore`; a store may also implement Nest lifecycle hooks.
 */
export interface OutboxStore {
  /** Whether an appended message survives the process dying. A durable store's write failure fails the request. */
  readonly durable: boolean;
  /**
   * Optional: the `dispatch.batchWindowMs` this store works best with, when
   * the application sets none (a store with a round trip per claim gains from
   * larger batches).
   */
  readonly preferredBatchWindowMs?: number;
  /** Stores one request's messages, all or none, in order; resolves once they are durable (for a durable store). */
  append(messages: readonly Message[]): Promise<void>;
  /** Leases due pending messages to `owner`, oldest first, keeping per-topic order (see above). */
  claim(request: ClaimRequest): Promise<OutboxEntry[]>;
  /** Marks messages leased by `owner` delivered: deleted, or kept as `delivered` when `retain` is true. */
  markDelivered(owner: string, ids: readonly string[], now: number, retain: boolean): Promise<void>;
  /** Records failed attempts of messages leased by `owner`, ending their lease. */
  reschedule(owner: string, failures: readonly FailedAttempt[], now: number): Promise<void>;
  /** The earliest time a pending message is due and unleased (possibly past), if any is pending. */
  nextDueAt(): Promise<number | undefined>;
  /** Messages matching `filter`, oldest first, at most `limit`. */
  list(filter: OutboxFilter, limit: number): Promise<OutboxEntry[]>;
  /** Counts per status. */
  counts(): Promise<OutboxCounts>;
  /** Makes dead messages matching `filter` pending again, due now, with attempts reset; returns how many. */
  retry(filter: OutboxFilter, now: number): Promise<number>;
  /** Deletes delivered or dead messages matching `filter`; returns how many. Never deletes pending ones. */
  purge(filter: OutboxFilter, options?: PurgeOptions): Promise<number>;
  /**
   * Optional: calls `listener` when messages were appended by someone else
   * (another process, a database transaction), so the dispatcher wakes at
   * once rather than at its next poll.
   */
  watch?(listener: () => void): void;
}

/**
 * An outbox in the application's own SQL database, whose rows can be written
 * by the application's transaction: the message then commits or rolls back
 * with the change it describes. `PostgresOutboxStore` is one.
 */
export interface TransactionalOutboxStore extends OutboxStore {
  /** The statement that appends `messages`, for a transaction to run on its own connection. */
  appendStatement(messages: readonly Message[]): SqlStatement;
}

/** Whether `store` can be written by the application's transactions. */
export function isTransactionalOutboxStore(store: OutboxStore): store is TransactionalOutboxStore {
  return typeof (store as Partial<TransactionalOutboxStore>).appendStatement === 'function';
}

/** Injection token of the configured `OutboxStore`: `@Inject(OutboxStore)` or `@InjectOutboxStore()`. */
export const OutboxStore: unique symbol = Symbol('nestjs-messaging:OutboxStore');

/** Injects the outbox store the module was configured with. */
export const InjectOutboxStore = (): PropertyDecorator & ParameterDecorator => Inject(OutboxStore);
