import { Inject, Injectable } from '@nestjs/common';
import type { DispatchCounters } from './outbox.counters.js';
import { Outbox } from './outbox.service.js';
import {
  OutboxStore,
  type OutboxCounts,
  type OutboxEntry,
  type OutboxFilter,
} from '../kernel/outbox-store.interface.js';

/** What `OutboxAdmin.stats()` reports. */
export interface OutboxStats {
  /** Messages in the store now, per status. */
  readonly stored: OutboxCounts;
  /** Counters of this process since it started. */
  readonly sinceStart: Readonly<DispatchCounters>;
}

/** Which dead messages to retry: all of them, some ids, or one topic. */
export interface OutboxRetryFilter {
  readonly ids?: readonly string[];
  readonly topic?: string;
}

/** Which settled messages to purge. */
export interface OutboxPurgeFilter {
  /** `delivered` or `dead`; both when omitted. */
  readonly status?: 'delivered' | 'dead';
  /** Only those settled at least this long ago, in ms. Default: `0` (all). */
  readonly olderThanMs?: number;
}

/**
 * Operations on the outbox for health checks, admin endpoints and scripts:
 * list pending and dead messages, retry dead ones, purge settled ones.
 * The `npx nestjs-messaging outbox` command does the same on a SQLite file.
 *
 * @example
 * ```ts
 * @Post('admin/outbox/retry')
 * retry(@Body() body: { topic?: string }) {
 *   return this.outbox.retry({ topic: body.topic });
 * }
 * ```
 */
@Injectable()
export class OutboxAdmin {
  constructor(
    @Inject(OutboxStore) private readonly store: OutboxStore,
    private readonly outbox: Outbox,
  ) {}

  /** Messages matching `filter`, oldest first. Default: the first 100 pending ones. */
  list(filter: OutboxFilter = { status: 'pending' }, limit = 100): Promise<OutboxEntry[]> {
    return this.store.list(filter, limit);
  }

  /** Counts per status, and this process's counters. */
  async stats(): Promise<OutboxStats> {
    return { stored: await this.store.counts(), sinceStart: this.outbox.sinceStart() };
  }

  /** Makes dead messages (all, or those matching `filter`) pending again with fresh attempts; returns how many. */
  async retry(filter: OutboxRetryFilter = {}): Promise<number> {
    const count = await this.store.retry(filter, Date.now());
    if (count > 0) this.outbox.wake();
    return count;
  }

  /** Deletes delivered and/or dead messages settled more than `olderThanMs` ago; returns how many. */
  purge(filter: OutboxPurgeFilter = {}): Promise<number> {
    return this.store.purge({ status: filter.status, before: Date.now() - (filter.olderThanMs ?? 0) });
  }
}
