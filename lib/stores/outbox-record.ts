import type { Message } from '../kernel/message.interface.js';
import type { FailedAttempt } from '../kernel/outbox-delivery-store.interface.js';
import {
  ATTEMPT_HISTORY_LIMIT,
  type AttemptRecord,
  type DeadReason,
  type OutboxStatus,
} from '../kernel/outbox-entry.interface.js';

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
  deadReason: DeadReason | undefined;
  /** Oldest first, at most `ATTEMPT_HISTORY_LIMIT`. */
  history: AttemptRecord[];
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
  record.history.push({ at: now, error: failure.error, messenger: failure.messenger ?? '', counted: failure.counted });
  if (record.history.length > ATTEMPT_HISTORY_LIMIT) record.history.shift();
  if (failure.nextAttemptAt === undefined) {
    record.status = 'dead';
    record.settledAt = now;
    record.deadReason = failure.deadReason ?? 'exhausted';
  } else {
    record.nextAttemptAt = failure.nextAttemptAt;
  }
}
