import type { OutboxStore } from '../kernel/outbox-store.interface.js';

/** A purge scans the table: at most once a minute (more often only for a shorter retention). */
const MAX_PURGE_INTERVAL_MS = 60_000;

/**
 * Retention of delivered messages: with `dispatch.retainDeliveredMs` above 0,
 * delivered messages are kept that long, then purged by the delivery worker
 * between two looks at the store. Instances sharing a store skip a purge
 * another one is running.
 */
export class RetentionPurge {
  private lastPurgeAt = 0;

  /** @param retainDeliveredMs how long delivered messages are kept, in ms; `0` keeps none (nothing to purge). */
  constructor(
    private readonly store: OutboxStore,
    private readonly retainDeliveredMs: number,
  ) {}

  /** Purges delivered messages older than the retention, when a purge is due. @throws what the store throws */
  async purgeIfDue(now: number = Date.now()): Promise<void> {
    const retain = this.retainDeliveredMs;
    if (retain === 0 || now - this.lastPurgeAt < Math.min(MAX_PURGE_INTERVAL_MS, retain)) return;
    this.lastPurgeAt = now;
    await this.store.purge({ status: 'delivered', before: now - retain }, { skipIfBusy: true });
  }
}
