import type { DeadReason, OutboxEntry, OutboxStatus } from './outbox-entry.interface.js';

/**
 * Selects messages for listing, retrying and purging. Fields combine with
 * AND; an absent field selects everything.
 */
export interface OutboxFilter {
  readonly status?: OutboxStatus;
  /** Only these messages; an empty list selects none. */
  readonly ids?: readonly string[];
  readonly topic?: string;
  /** Only messages of this ordering key (`Message.key`); `null`: only messages sent without ordering. */
  readonly key?: string | null;
  /**
   * Only dead messages that died for this reason (`OutboxEntry.deadReason`); messages without a
   * reason (pending, delivered, or dead before the store kept reasons) never match it.
   */
  readonly reason?: DeadReason;
  /**
   * Only messages stored (pending ones) or settled (delivered and dead ones)
   * strictly before this time, in ms since the epoch.
   */
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

/** How many messages are in each state. */
export type OutboxCounts = Readonly<Record<OutboxStatus, number>>;

/**
 * What operators need from an outbox: look at it, count it, give dead
 * messages another chance, delete settled ones. `OutboxAdmin` and the
 * `npx nestjs-messaging outbox` command call only these; so do the
 * dispatcher's retention purge (`purge` with `skipIfBusy`) and its shutdown
 * report of what is left (`counts`).
 *
 * **Errors.** Every method rejects with the storage's own error when it
 * cannot be read or written; `OutboxAdmin` and the command pass it on. A
 * store that connects lazily may reject with the error of connecting
 * (`PostgresOutboxStore`: a `MessagingOptionsError` naming the connection
 * options, or the missing table).
 *
 * Implement it together with `OutboxDeliveryStore` as an `OutboxStore`.
 */
export interface OutboxAdminStore {
  /**
   * Messages matching `filter`, oldest first (acceptance order), at most
   * `limit` (a whole number >= 1), as frozen entries.
   */
  list(filter: OutboxFilter, limit: number): Promise<OutboxEntry[]>;
  /** Counts per status, every status present (0 when none). */
  counts(): Promise<OutboxCounts>;
  /**
   * Makes dead messages matching `filter` (its `status` is ignored) pending
   * again, due at `now` (ms since the epoch), with attempts reset to 0 and
   * `settledAt` and `deadReason` cleared, `lastError` and `history` kept.
   * They keep their place in acceptance order (their original sequence), so
   * each goes out in its original place among its key's pending messages,
   * not behind messages accepted after it. Resolves to how many.
   */
  retry(filter: OutboxFilter, now: number): Promise<number>;
  /**
   * Deletes delivered or dead messages matching `filter`; never pending ones,
   * whatever the filter says. Resolves to how many (0 when skipped, see
   * `PurgeOptions.skipIfBusy`).
   */
  purge(filter: OutboxFilter, options?: PurgeOptions): Promise<number>;
}
