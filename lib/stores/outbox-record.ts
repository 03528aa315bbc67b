import type { Message } from '../kernel/message.interface.js';
import type { FailedAttempt, OutboxEntry, OutboxFilter, OutboxStatus } from '../kernel/outbox-store.interface.js';

/** The mutable state a store keeps per message; stores hand out frozen `OutboxEntry` copies. */
export interface OutboxRecord {
  readonly message: Message;
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

/** A frozen, public view of a record. */
export function toEntry(record: OutboxRecord): OutboxEntry {
  const { leaseOwner, leaseExpiresAt } = record;
  return Object.freeze({
    message: record.message,
    status: record.status,
    attempts: record.attempts,
    createdAt: record.createdAt,
    nextAttemptAt: record.nextAttemptAt,
    ...(record.lastError === undefined ? {} : { lastError: record.lastError }),
    ...(record.settledAt === undefined ? {} : { settledAt: record.settledAt }),
    ...(leaseOwner === undefined || leaseExpiresAt === undefined
      ? {}
      : { lease: Object.freeze({ owner: leaseOwner, expiresAt: leaseExpiresAt }) }),
  });
}

/** Whether `record` is leased at `now` (to anyone). */
export function isLeased(record: OutboxRecord, now: number): boolean {
  return record.leaseExpiresAt !== undefined && record.leaseExpiresAt > now;
}

/** Applies one failed attempt to a record leased by the caller. */
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

/** Whether `record` matches every field of `filter`. */
export function matchesFilter(
  record: OutboxRecord,
  filter: OutboxFilter,
  ids: ReadonlySet<string> | undefined,
): boolean {
  if (filter.status !== undefined && record.status !== filter.status) return false;
  if (ids !== undefined && !ids.has(record.message.id)) return false;
  if (filter.topic !== undefined && record.message.topic !== filter.topic) return false;
  if (filter.before !== undefined) {
    const time = record.status === 'pending' ? record.createdAt : (record.settledAt ?? record.createdAt);
    if (time >= filter.before) return false;
  }
  return true;
}
