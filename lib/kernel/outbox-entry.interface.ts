import type { Message } from './message.interface.js';

/**
 * Where a stored message stands:
 * - `pending`: waiting for its first or next attempt (possibly leased to a dispatcher right now);
 * - `delivered`: accepted by the bus, kept only while `retainDeliveredMs` says so;
 * - `dead`: given up on after its attempts or age ran out; kept until retried or purged.
 */
export type OutboxStatus = 'pending' | 'delivered' | 'dead';

/**
 * Why a message is dead:
 * - `exhausted`: its counted attempts ran out (`dispatch.retry.maxAttempts`);
 * - `rejected`: it was refused for good (a `NonRetryableMessageError`, a broker's permanent refusal,
 *   `retryIf` saying no): not tried again;
 * - `expired`: it grew older than it may be (`dispatch.retry.maxAgeMs`) before it was delivered.
 */
export type DeadReason = 'exhausted' | 'rejected' | 'expired';

/** One failed attempt at delivering a message, as kept in `OutboxEntry.history`. */
export interface AttemptRecord {
  /** When the attempt failed, in ms since the epoch. */
  readonly at: number;
  /** Why it failed, as shown to operators. */
  readonly error: string;
  /** The class name of the messenger that tried (`AmqpMessenger`, ...); `''` when not known. */
  readonly messenger: string;
  /** Whether the attempt counted towards the message's attempts (not when the bus was unreachable). */
  readonly counted: boolean;
}

/**
 * The most attempt records a store keeps per message (`OutboxEntry.history`): past it, the
 * oldest record is dropped for each new one, so a message retried through a long outage keeps
 * a bounded row. `attempts` still counts every counted attempt.
 */
export const ATTEMPT_HISTORY_LIMIT = 50;

/** One message in an outbox, with its delivery state. Stores hand out frozen copies. */
export interface OutboxEntry {
  /** The message as it was accepted; its id never changes across retries and restarts. */
  readonly message: Message;
  readonly status: OutboxStatus;
  /** Failed attempts so far (0 for a message never tried or tried only while the bus was unreachable). */
  readonly attempts: number;
  /** When the message was stored, in ms since the epoch. */
  readonly createdAt: number;
  /** Earliest time of the next attempt, in ms since the epoch (pending messages). */
  readonly nextAttemptAt: number;
  /** Why the last attempt failed, if it did. */
  readonly lastError?: string;
  /**
   * Why the message is dead (dead messages; absent for messages that died before the store
   * recorded reasons, schema version 1).
   */
  readonly deadReason?: DeadReason;
  /**
   * Every failed attempt so far, oldest first, counted or not, at most `ATTEMPT_HISTORY_LIMIT`
   * (the most recent ones); `[]` when none. A retry of a dead message keeps it.
   */
  readonly history: readonly AttemptRecord[];
  /** When the message was delivered or declared dead, in ms since the epoch. */
  readonly settledAt?: number;
  /** The dispatcher holding the message right now, and until when (ms since the epoch; pending messages). */
  readonly lease?: { readonly owner: string; readonly expiresAt: number };
}
