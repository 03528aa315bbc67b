import type { Message } from './message.interface.js';

/**
 * Where a stored message stands:
 * - `pending`: waiting for its first or next attempt (possibly leased to a dispatcher right now);
 * - `delivered`: accepted by the bus, kept only while `retainDeliveredMs` says so;
 * - `dead`: given up on after its attempts or age ran out; kept until retried or purged.
 */
export type OutboxStatus = 'pending' | 'delivered' | 'dead';

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
  /** When the message was delivered or declared dead, in ms since the epoch. */
  readonly settledAt?: number;
  /** The dispatcher holding the message right now, and until when (ms since the epoch; pending messages). */
  readonly lease?: { readonly owner: string; readonly expiresAt: number };
}
