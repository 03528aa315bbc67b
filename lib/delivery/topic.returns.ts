import type { FailedAttempt, OutboxEntry, OutboxStore } from '../kernel/outbox-store.interface.js';
import type { AttemptWaiters } from './attempt.waiters.js';
import type { DeliveryLog } from './delivery.log.js';

/** What the returns need; shared with the rest of one delivery worker. */
export interface ReturnsContext {
  readonly store: OutboxStore;
  /** The worker's lease owner id. */
  readonly owner: string;
  readonly log: DeliveryLog;
  /** A message given back is kept for a later attempt: `delivery: 'await'` responses stop waiting for it. */
  readonly waiters: AttemptWaiters;
  /** Called when a give-back has ended: its messages are due again. */
  readonly settled: () => void;
}

/**
 * Claimed messages handed back to the store unsent (due now, not counted as
 * an attempt), and which ordering keys had a message go back into line (or
 * start holding its key) while a claim was running: that claim may have
 * skipped the older message (still leased here when the store looked) and
 * brought newer ones of its key, which must then go back too, so that the
 * store's oldest-first claim decides again. Messages without a key are never
 * behind anything.
 */
export class TopicReturns {
  /** Ordering keys with messages being given back, and how many give-backs each. */
  private readonly returning = new Map<string, number>();
  /** Keys of which a message went back into line since the current claim was requested. */
  private readonly sinceClaim = new Set<string>();

  constructor(private readonly context: ReturnsContext) {}

  /** Whether no give-back is running. */
  get idle(): boolean {
    return this.returning.size === 0;
  }

  /** To call just before asking the store for a claim (claims do not overlap). */
  claimStarted(): void {
    this.sinceClaim.clear();
  }

  /** A message of ordering key `key` went back into line (an attempt that did not count), or holds its key. */
  wentBack(key: string): void {
    this.sinceClaim.add(key);
  }

  /** Whether messages of `key` from the claim answering now may be behind an older one back in the store. */
  mayOvertake(key: string): boolean {
    return this.returning.has(key) || this.sinceClaim.has(key);
  }

  /** Hands `entries` (leased to this worker) back to the store, due now and not counted as an attempt. */
  giveBack(entries: readonly OutboxEntry[], reason: string): void {
    if (entries.length === 0) return;
    const { store, owner, log, waiters } = this.context;
    // As after a failed attempt: the response that waits for them goes out now, the messages stay.
    waiters.attempted(entries.map(({ message }) => message.id));
    const keys = new Set<string>();
    for (const { message } of entries) if (message.key !== null) keys.add(message.key);
    for (const key of keys) this.returning.set(key, (this.returning.get(key) ?? 0) + 1);
    const now = Date.now();
    const failures: FailedAttempt[] = entries.map(({ message }) => ({
      id: message.id,
      error: reason,
      counted: false,
      nextAttemptAt: now,
    }));
    // A store written in plain JavaScript may throw instead of rejecting.
    void Promise.resolve()
      .then(() => store.reschedule(owner, failures, now))
      .catch((error: unknown) => {
        // The leases then run out, and the messages are claimed again in order.
        log.storeFailed(error);
      })
      .finally(() => {
        for (const key of keys) {
          const count = (this.returning.get(key) ?? 1) - 1;
          if (count === 0) this.returning.delete(key);
          else this.returning.set(key, count);
          this.sinceClaim.add(key);
        }
        this.context.settled();
      });
  }
}
