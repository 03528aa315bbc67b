import { deliveryChannels } from '../kernel/delivery-events.js';
import type { Message } from '../kernel/message.interface.js';
import type { Messenger } from '../kernel/messenger.interface.js';
import type { DeadReason, OutboxEntry } from '../kernel/outbox-entry.interface.js';

/**
 * Publishes delivery's events on `node:diagnostics_channel` (see
 * `DeliveryChannelNames`). Each function looks at `hasSubscribers` before it
 * builds anything: with nobody listening, an event costs one property read.
 */

/** `message.accepted`, once per message the outbox stored, at `acceptedAt` (ms since the epoch). */
export function publishAccepted(messages: readonly Message[], acceptedAt: number): void {
  const { accepted } = deliveryChannels;
  if (!accepted.hasSubscribers) return;
  for (const message of messages) accepted.publish({ message, acceptedAt });
}

/**
 * `messenger.send(messages)` raced against `timeout` (the attempt's deadline), inside the
 * `batch.send` tracing channel when it has subscribers (called directly otherwise): a send that
 * never settles ends its trace with the timeout's error, so subscribers (a send span) always see
 * an end. A messenger that throws synchronously throws here too.
 */
export function tracedSend(messenger: Messenger, messages: readonly Message[], timeout: Promise<never>): Promise<void> {
  const { batchSend } = deliveryChannels;
  if (!batchSend.hasSubscribers) return Promise.race([messenger.send(messages), timeout]);
  return batchSend.tracePromise(
    // A thenable from a messenger in plain JavaScript becomes a promise here, on every Node.js.
    () => Promise.race([Promise.resolve(messenger.send(messages)), timeout]),
    { messages, messenger: messengerName(messenger) },
  );
}

/** `message.delivered`, once per entry (of `ids`, when given) the bus took at `deliveredAt`. */
export function publishDelivered(
  entries: readonly OutboxEntry[],
  deliveredAt: number,
  ids?: ReadonlySet<string>,
): void {
  const { delivered } = deliveryChannels;
  if (!delivered.hasSubscribers) return;
  for (const { message, createdAt } of entries) {
    if (ids !== undefined && !ids.has(message.id)) continue;
    delivered.publish({ message, acceptedAt: createdAt, deliveredAt, latencyMs: deliveredAt - createdAt });
  }
}

/** One failed attempt of one message, as `attempt.failed` carries it. */
export interface FailedAttemptEvent {
  readonly message: Message;
  readonly reason: string;
  readonly counted: boolean;
  readonly attempts: number;
  readonly nextAttemptAt: number | undefined;
}

/** Whether `attempt.failed` has subscribers (so the caller can skip building its list). */
export function attemptFailedObserved(): boolean {
  return deliveryChannels.attemptFailed.hasSubscribers;
}

/** `attempt.failed`, once per failure (built only when {@link attemptFailedObserved}). */
export function publishAttemptsFailed(failures: readonly FailedAttemptEvent[]): void {
  for (const failure of failures) deliveryChannels.attemptFailed.publish(failure);
}

/** `message.dead`, once per message given up on. */
export function publishDead(
  dead: readonly { message: Message; attempt: number; reason: string; deadReason: DeadReason }[],
): void {
  const channel = deliveryChannels.dead;
  if (!channel.hasSubscribers) return;
  for (const { message, attempt, reason, deadReason } of dead) {
    channel.publish({ message, reason, attempts: attempt, deadReason });
  }
}

/** `delivery.paused`: delivery stopped sending, until `pausedUntil` (ms since the epoch). */
export function publishPaused(reason: string, pausedUntil: number): void {
  const { paused } = deliveryChannels;
  if (paused.hasSubscribers) paused.publish({ reason, pausedUntil });
}

/** `delivery.resumed`: the bus took a batch again; the pause had begun at `pausedSince`. */
export function publishResumed(pausedSince: number, resumedAt: number): void {
  const { resumed } = deliveryChannels;
  if (resumed.hasSubscribers) resumed.publish({ pausedSince, resumedAt });
}

/**
 * `lease.lost`: of `entries` (leased to `owner`), those whose lease had expired by `now`, when
 * any. Their outcome came too late to be sure of: another instance may have claimed them.
 */
export function publishLeaseLost(owner: string, entries: readonly OutboxEntry[], now: number): void {
  const { leaseLost } = deliveryChannels;
  if (!leaseLost.hasSubscribers) return;
  const ids = entries
    .filter(({ lease }) => lease !== undefined && lease.expiresAt <= now)
    .map(({ message }) => message.id);
  if (ids.length > 0) leaseLost.publish({ owner, count: ids.length, ids });
}

/** `lease.taken-over`: `owner` (this instance) took over `count` messages of `from`, an owner proven gone. */
export function publishLeaseTakenOver(owner: string, from: string, count: number): void {
  const { leaseTakenOver } = deliveryChannels;
  if (leaseTakenOver.hasSubscribers) leaseTakenOver.publish({ owner, from, count });
}

function messengerName(messenger: Messenger): string {
  const name: unknown = (messenger as { constructor?: { name?: unknown } }).constructor?.name;
  // A messenger written as an object literal has Object's constructor.
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : 'Messenger';
}
