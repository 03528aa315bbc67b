import type { Message } from '../kernel/message.interface.js';
import type { FailedAttempt } from '../kernel/outbox-delivery-store.interface.js';
import type { OutboxStatus } from '../kernel/outbox-entry.interface.js';

/**
 * The mutable state `MemoryOutboxStore` keeps per message; it hands out
 * frozen `OutboxEntry` copies (`toOutboxEntry()`).
 */
export interface OutboxRecord {
  readonly message: Message;
  /** Acceptance order. */
  readonly sequence: number;
  readonly createdAt: number;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | undefined;
  settledAt: number | undefined;
  leaseOwner: string | undefined;
  leaseExpiresAt: number | undefined;
}

/** Applies one failed attempt to a record leased by the caller (see `OutboxDeliveryStore.reschedule()`). */
export function applyFailure(record: OutboxRecord, failure: FailedAttempt, now: number): void {
  record.leaseOwner = undefined;
  record.leaseExpiresAt = undefined;
  record.lastError = failure.error;
  if (failure.counted) record.attempts++;
  if (failure.nextAttemptAt === undefined) {
    record.status = 'dead';
    record.settledAt = now;
  } else {
    record.nextAttemptAt = failure.nextAttemptAt;
  }
}
