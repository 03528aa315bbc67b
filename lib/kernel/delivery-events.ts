import { channel, tracingChannel, type Channel, type TracingChannel } from 'node:diagnostics_channel';
import type { Message } from './message.interface.js';
import type { DeadReason } from './outbox-entry.interface.js';

/**
 * Delivery events on `node:diagnostics_channel`, one channel per event, so
 * that health checks, metrics, tracing or your own code can watch delivery
 * without a dependency. Subscribe with `diagnostics_channel.subscribe(name, fn)`
 * (names in {@link DeliveryChannelNames}); payloads are plain objects, shared
 * with every subscriber: do not mutate them. Nothing is built when nobody
 * subscribes (each publisher checks `hasSubscribers` first).
 *
 * Times are in ms since the Unix epoch; durations in ms.
 */
export const DeliveryChannelNames = {
  /**
   * {@link MessageAcceptedEvent}, once per message, when the outbox stored it: after the store
   * took a request's or `run()`'s batch, or when the database transaction that inserted it committed.
   */
  accepted: 'nestjs-messaging:message.accepted',
  /**
   * A `TracingChannel` (`tracing:nestjs-messaging:batch.send:start|end|asyncStart|asyncEnd|error`)
   * around each `Messenger.send()` of a batch; its context is a {@link BatchSendEvent}. `start`
   * runs in the delivery worker's context (not a request's); `error` also fires for a send
   * that rejects because the bus is unreachable.
   */
  batchSend: 'nestjs-messaging:batch.send',
  /** {@link MessageDeliveredEvent}, once per message, when the bus took it (published before the outbox records it). */
  delivered: 'nestjs-messaging:message.delivered',
  /**
   * {@link AttemptFailedEvent}, once per message of a failed attempt: counted (the message's
   * fault, or an error the messenger did not classify) or not (the bus was unreachable).
   */
  attemptFailed: 'nestjs-messaging:attempt.failed',
  /** {@link MessageDeadEvent}, once per message given up on (attempts or age ran out, or refused for good), after its `attempt.failed`. */
  dead: 'nestjs-messaging:message.dead',
  /**
   * {@link DeliveryPausedEvent}, when an attempt first finds the bus unreachable after it was
   * reachable: delivery pauses as a whole. Further unreachable probes extend the pause without
   * a new event (each fires `attempt.failed` with `counted: false`).
   */
  paused: 'nestjs-messaging:delivery.paused',
  /** {@link DeliveryResumedEvent}, when the bus takes a batch again after a pause. */
  resumed: 'nestjs-messaging:delivery.resumed',
  /**
   * {@link LeaseEvent}, when an attempt's outcome came after the lease it was sent under had
   * expired (by this process's clock, against the expiry the store gave): another instance may
   * have claimed those messages and sent them again, and the store may ignore this outcome.
   */
  leaseLost: 'nestjs-messaging:lease.lost',
  /**
   * {@link LeaseEvent}, once per gone owner, when this instance took over at start-up the leases
   * of an owner the store proved gone (`OutboxDeliveryStore.takeOverLeases`).
   */
  leaseTakenOver: 'nestjs-messaging:lease.taken-over',
} as const;

/** Payload of `nestjs-messaging:message.accepted`. */
export interface MessageAcceptedEvent {
  readonly message: Message;
  /** When the outbox stored it. */
  readonly acceptedAt: number;
}

/** Context of the `nestjs-messaging:batch.send` tracing channel; `error` is set on failure by Node. */
export interface BatchSendEvent {
  readonly messages: readonly Message[];
  /** The messenger's class name, for example `AmqpMessenger`. */
  readonly messenger: string;
  /** Set by Node.js when `send()` rejects (the `error` event). */
  error?: unknown;
  /** Set by Node.js when `send()` resolves. */
  result?: unknown;
}

/** Payload of `nestjs-messaging:message.delivered`. */
export interface MessageDeliveredEvent {
  readonly message: Message;
  /** When the outbox accepted it. */
  readonly acceptedAt: number;
  /** When the bus took it. */
  readonly deliveredAt: number;
  /** `deliveredAt - acceptedAt`, in ms. */
  readonly latencyMs: number;
}

/** Payload of `nestjs-messaging:attempt.failed`. */
export interface AttemptFailedEvent {
  readonly message: Message;
  /** The broker's or messenger's reason. */
  readonly reason: string;
  /** Whether the attempt counted against the message's attempts (false when the bus was unreachable). */
  readonly counted: boolean;
  /** Failed counted attempts so far, this one included. */
  readonly attempts: number;
  /** When the next attempt is due; undefined when the message is dead. */
  readonly nextAttemptAt: number | undefined;
}

/** Payload of `nestjs-messaging:message.dead`. */
export interface MessageDeadEvent {
  readonly message: Message;
  readonly reason: string;
  readonly attempts: number;
  /** Why it was given up on: attempts ran out, refused for good (`rejected`), or its age ran out. */
  readonly deadReason: DeadReason;
}

/** Payload of `nestjs-messaging:delivery.paused`. */
export interface DeliveryPausedEvent {
  readonly reason: string;
  /** Until when nothing is sent. */
  readonly pausedUntil: number;
}

/** Payload of `nestjs-messaging:delivery.resumed`. */
export interface DeliveryResumedEvent {
  /** When the pause began. */
  readonly pausedSince: number;
  readonly resumedAt: number;
}

/** Payload of `nestjs-messaging:lease.lost` and `nestjs-messaging:lease.taken-over`. */
export interface LeaseEvent {
  /** This instance's lease owner id. */
  readonly owner: string;
  /** The owner whose leases were taken over (`lease.taken-over` only). */
  readonly from?: string;
  /** How many messages. */
  readonly count: number;
  /** The messages' ids (`lease.lost` only): they may be sent twice. */
  readonly ids?: readonly string[];
}

/** The channel objects, created once; publishers check `hasSubscribers` before building a payload. */
export const deliveryChannels: {
  readonly accepted: Channel<MessageAcceptedEvent>;
  readonly batchSend: TracingChannel<BatchSendEvent, BatchSendEvent>;
  readonly delivered: Channel<MessageDeliveredEvent>;
  readonly attemptFailed: Channel<AttemptFailedEvent>;
  readonly dead: Channel<MessageDeadEvent>;
  readonly paused: Channel<DeliveryPausedEvent>;
  readonly resumed: Channel<DeliveryResumedEvent>;
  readonly leaseLost: Channel<LeaseEvent>;
  readonly leaseTakenOver: Channel<LeaseEvent>;
} = {
  accepted: channel(DeliveryChannelNames.accepted) as Channel<MessageAcceptedEvent>,
  batchSend: tracingChannel<BatchSendEvent, BatchSendEvent>(DeliveryChannelNames.batchSend),
  delivered: channel(DeliveryChannelNames.delivered) as Channel<MessageDeliveredEvent>,
  attemptFailed: channel(DeliveryChannelNames.attemptFailed) as Channel<AttemptFailedEvent>,
  dead: channel(DeliveryChannelNames.dead) as Channel<MessageDeadEvent>,
  paused: channel(DeliveryChannelNames.paused) as Channel<DeliveryPausedEvent>,
  resumed: channel(DeliveryChannelNames.resumed) as Channel<DeliveryResumedEvent>,
  leaseLost: channel(DeliveryChannelNames.leaseLost) as Channel<LeaseEvent>,
  leaseTakenOver: channel(DeliveryChannelNames.leaseTakenOver) as Channel<LeaseEvent>,
};
