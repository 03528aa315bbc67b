import { Inject, Injectable } from '@nestjs/common';
import type { DispatchCounters } from './outbox.counters.js';
import { Outbox } from './outbox.service.js';
import {
  toOutboxFilter,
  type OutboxListFilter,
  type OutboxPurgeFilter,
  type OutboxRequeueFilter,
} from '../kernel/outbox-selection.js';
import { OutboxStore, type OutboxCounts, type OutboxEntry } from '../kernel/outbox-store.interface.js';

/** What `OutboxAdmin.stats()` reports. */
export interface OutboxStats {
  /** Messages in the store now, per status. */
  readonly stored: OutboxCounts;
  /** Counters of this process since it started. */
  readonly sinceStart: Readonly<DispatchCounters>;
}

/**
 * Which dead messages `retry()` makes pending again.
 * @deprecated Use `OutboxRequeueFilter` and `requeue()`.
 */
export type OutboxRetryFilter = OutboxRequeueFilter;

/**
 * Operations on the outbox for health checks, admin endpoints and scripts:
 * list messages, show one with its attempt history, requeue dead ones, purge
 * settled ones. The `npx nestjs-messaging outbox` command does the same on a
 * SQLite file or a PostgreSQL table.
 *
 * `requeue()` and `purge()` change many messages at once: they refuse a
 * filter that selects nothing in particular (no ids, topic, key, reason or
 * age) with `EmptyOutboxFilterError` unless it says `all: true`.
 *
 * @example
 * ```ts
 * @Post('admin/outbox/requeue')
 * requeue(@Body() body: { ids?: string[]; key?: string }) {
 *   return this.outbox.requeue(body); // {} is refused: 400
 * }
 * ```
 */
@Injectable()
export class OutboxAdmin {
  constructor(
    @Inject(OutboxStore) private readonly store: OutboxStore,
    private readonly outbox: Outbox,
  ) {}

  /**
   * Messages matching `filter`, oldest first (acceptance order), at most `limit` (a whole
   * number >= 1). Default: the first 100 pending ones (`status` defaults to `pending`; give
   * `status: undefined` explicitly for every status).
   * @throws RangeError when `olderThanMs` is not a number of ms >= 0.
   */
  list(filter: OutboxListFilter = { status: 'pending' }, limit = 100): Promise<OutboxEntry[]> {
    return this.store.list(toOutboxFilter(filter, Date.now()), limit);
  }

  /** One message by id, in any state, with its attempt history (`history`, oldest first); `undefined` when none. */
  async show(id: string): Promise<OutboxEntry | undefined> {
    return (await this.store.list({ ids: [id] }, 1)).at(0);
  }

  /** Counts per status, and this process's counters. */
  async stats(): Promise<OutboxStats> {
    return { stored: await this.store.counts(), sinceStart: this.outbox.sinceStart() };
  }

  /**
   * Makes the dead messages matching `filter` pending again, due at once, with attempts reset to 0,
   * their history kept and their reason cleared. Each keeps its place in acceptance order: it goes
   * out in its original place among its key's pending messages, not behind messages accepted after
   * it. Resolves to how many; wakes this process's dispatcher.
   * @throws EmptyOutboxFilterError when `filter` has no selecting field and not `all: true`; nothing changes.
   */
  async requeue(filter: OutboxRequeueFilter): Promise<number> {
    const count = await this.store.retry(toOutboxFilter(filter, Date.now(), 'requeue'), Date.now());
    if (count > 0) this.outbox.wake();
    return count;
  }

  /**
   * The same as `requeue()`.
   * @deprecated Use `requeue()`. Since issue 17 an empty filter is refused here too (it retried every dead message).
   */
  retry(filter: OutboxRequeueFilter): Promise<number> {
    return this.requeue(filter);
  }

  /**
   * Deletes the delivered and/or dead messages matching `filter` settled more than `olderThanMs`
   * ago (default 0: any time before now), never pending ones. Resolves to how many.
   * @throws EmptyOutboxFilterError when `filter` has no selecting field and not `all: true`; nothing is deleted.
   */
  purge(filter: OutboxPurgeFilter): Promise<number> {
    return this.store.purge(toOutboxFilter(filter, Date.now(), 'purge'));
  }
}
