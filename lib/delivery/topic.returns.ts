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
 * an attempt), and which topics had a message go back into line while a
 * claim was running: that claim may have skipped the older message (still
 * leased here when the store looked) and brought newer ones of its topic,
 * which must then go back too, so that the store's oldest-first claim
 * decides again.
 */
export class TopicReturns {
  /** Topics with messages being given back, and how many give-backs each. */
  private readonly returning = new Map<string, number>();
  /** Topics of which a message went back into line since the current claim was requested. */
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

  /** A message of `topic` went back into line (an attempt that did not count). */
  wentBack(topic: string): void {
    this.sinceClaim.add(topic);
  }

  /** Whether messages of `topic` from the claim answering now may be behind an older one back in the store. */
  mayOvertake(topic: string): boolean {
    return this.returning.has(topic) || this.sinceClaim.has(topic);
  }

  /** Hands `entries` (leased to this worker) back to the store, due now and not counted as an attempt. */
  giveBack(entries: readonly OutboxEntry[], reason: string): void {
    if (entries.length === 0) return;
    const { store, owner, log, waiters } = this.context;
    // As after a failed attempt: the response that waits for them goes out now, the messages stay.
    waiters.attempted(entries.map(({ message }) => message.id));
    const topics = new Set(entries.map(({ message }) => message.topic));
    for (const topic of topics) this.returning.set(topic, (this.returning.get(topic) ?? 0) + 1);
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
        for (const topic of topics) {
          const count = (this.returning.get(topic) ?? 1) - 1;
          if (count === 0) this.returning.delete(topic);
          else this.returning.set(topic, count);
          this.sinceClaim.add(topic);
        }
        this.context.settled();
      });
  }
}
