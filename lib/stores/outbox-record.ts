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
  /** Oldest first, at most `ATTEMPT_HISTORY_LIMIT`; `NO_ATTEMPTS` (shared) until the first failure. */
  history: AttemptRecord[];
  settledAt: number | undefined;
  leaseOwner: string | undefined;
  leaseExpiresAt: number | undefined;
  /** Whether it holds its key until due (delayed, or failed with `holdsKey`). */
  holdsKey: boolean;
}

/** The history of every record not attempted yet: one shared empty array, never written to. */
export const NO_ATTEMPTS: AttemptRecord[] = [];

/**
 * A message's record as accepted: pending, never attempted, due at `due` (ms since the epoch;
 * `undefined`: at once, `createdAt`). A delayed message (`due` after `createdAt`) holds its key:
 * the key's later messages wait for it.
 */
export function pendingRecord(
  message: Message,
  sequence: number,
  createdAt: number,
  due: number | undefined,
): OutboxRecord {
  return {
    message,
    sequence,
    createdAt,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: due ?? createdAt,
    lastError: undefined,
    deadReason: undefined,
    history: NO_ATTEMPTS,
    settledAt: undefined,
    leaseOwner: undefined,
    leaseExpiresAt: undefined,
    holdsKey: due !== undefined && due > createdAt && message.key !== null,
  };
}

/** Applies one failed attempt to a record leased by the caller (see `OutboxDeliveryStore.reschedule()`). */
export function applyFailure(record: OutboxRecord, failure: FailedAttempt, now: number): void {
  record.leaseOwner = undefined;
  record.leaseExpiresAt = undefined;
  record.lastError = failure.error;
  if (failure.counted) record.attempts++;
  // A new array at the first failure: never-failed records share one empty array.
  if (record.history === NO_ATTEMPTS) record.history = [];
  record.history.push({ at: now, error: failure.error, messenger: failure.messenger ?? '', counted: failure.counted });
  if (record.history.length > ATTEMPT_HISTORY_LIMIT) record.history.shift();
  if (failure.nextAttemptAt === undefined) {
    record.status = 'dead';
    record.settledAt = now;
    record.deadReason = failure.deadReason ?? 'exhausted';
  } else {
    record.nextAttemptAt = failure.nextAttemptAt;
    record.holdsKey = failure.holdsKey === true && record.message.key !== null;
  }
}

/**
 * `messages` without those whose id `isHeld` (already in the store) or repeats an earlier one of
 * them: a duplicate id is an idempotent no-op, the first message with it is kept.
 */
export function newMessages(messages: readonly Message[], isHeld: (id: string) => boolean): readonly Message[] {
  if (messages.length === 1) return isHeld(messages[0]?.id ?? '') ? [] : messages;
  const seen = new Set<string>();
  return messages.filter(({ id }) => {
    if (isHeld(id) || seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
