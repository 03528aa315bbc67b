import { subscribe, unsubscribe, type TracingChannelSubscribers } from 'node:diagnostics_channel';
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import {
  DeliveryChannelNames,
  deliveryChannels,
  type AttemptFailedEvent,
  type BatchSendEvent,
  type MessageAcceptedEvent,
  type MessageDeadEvent,
  type MessageDeliveredEvent,
} from '../kernel/delivery-events.js';
import { errorTypeOf } from './error-type.js';
import { singleTopic } from './send-span.subscriber.js';
import { TelemetryMetricNames } from './telemetry.names.js';

/** Bucket boundaries (s) of the semantic conventions' `messaging.client.operation.duration`. */
const OPERATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Acceptance to delivery spans milliseconds (a healthy bus) to hours (an outage): buckets in s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

type Listener = (message: unknown, name: string | symbol) => void;

/**
 * Counts what the delivery events report (subscribed to their `diagnostics_channel`s, so nothing
 * is counted per event unless this runs): accepted, delivered, failed attempts and dead messages
 * per topic, the acceptance-to-delivery latency, and per batch `send()` the conventions'
 * `messaging.client.sent.messages` and `messaging.client.operation.duration`.
 */
export class DeliveryMetrics {
  private readonly accepted: Counter;
  private readonly delivered: Counter;
  private readonly failed: Counter;
  private readonly dead: Counter;
  private readonly latency: Histogram;
  private readonly sent: Counter;
  private readonly duration: Histogram;
  private readonly started = new WeakMap<BatchSendEvent, number>();
  private readonly listeners: ReadonlyArray<readonly [string, Listener]>;
  private readonly sends: TracingChannelSubscribers<BatchSendEvent>;

  constructor(
    meter: Meter,
    private readonly system: string,
    private readonly systemOf: (messenger: string) => string,
  ) {
    const names = TelemetryMetricNames;
    this.accepted = meter.createCounter(names.accepted, {
      unit: '{message}',
      description: 'Messages stored in the outbox',
    });
    this.delivered = meter.createCounter(names.delivered, { unit: '{message}', description: 'Messages the bus took' });
    this.failed = meter.createCounter(names.failedAttempts, {
      unit: '{attempt}',
      description: 'Failed delivery attempts',
    });
    this.dead = meter.createCounter(names.dead, { unit: '{message}', description: 'Messages given up on' });
    this.latency = meter.createHistogram(names.deliveryLatency, {
      unit: 's',
      description: 'Time from acceptance into the outbox to the bus taking the message',
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    });
    this.sent = meter.createCounter(names.clientSent, { unit: '{message}', description: 'Messages handed to the bus' });
    this.duration = meter.createHistogram(names.clientOperationDuration, {
      unit: 's',
      description: 'Duration of each send of a batch to the bus',
      advice: { explicitBucketBoundaries: OPERATION_BUCKETS },
    });
    this.listeners = [
      [
        DeliveryChannelNames.accepted,
        (event) => {
          this.onAccepted(event as MessageAcceptedEvent);
        },
      ],
      [
        DeliveryChannelNames.delivered,
        (event) => {
          this.onDelivered(event as MessageDeliveredEvent);
        },
      ],
      [
        DeliveryChannelNames.attemptFailed,
        (event) => {
          this.onFailed(event as AttemptFailedEvent);
        },
      ],
      [
        DeliveryChannelNames.dead,
        (event) => {
          this.onDead(event as MessageDeadEvent);
        },
      ],
    ];
    this.sends = {
      start: (event) => {
        this.started.set(event, performance.now());
      },
      end: (event) => {
        if ('error' in event) this.onSent(event);
      },
      asyncStart: () => undefined,
      asyncEnd: (event) => {
        this.onSent(event);
      },
      error: () => undefined,
    };
  }

  subscribe(): void {
    for (const [name, listener] of this.listeners) subscribe(name, listener);
    deliveryChannels.batchSend.subscribe(this.sends);
  }

  unsubscribe(): void {
    for (const [name, listener] of this.listeners) unsubscribe(name, listener);
    deliveryChannels.batchSend.unsubscribe(this.sends);
  }

  private topicAttributes(topic: string): Attributes {
    return { 'messaging.system': this.system, 'messaging.destination.name': topic };
  }

  private onAccepted(event: MessageAcceptedEvent): void {
    this.accepted.add(1, this.topicAttributes(event.message.topic));
  }

  private onDelivered(event: MessageDeliveredEvent): void {
    const attributes = this.topicAttributes(event.message.topic);
    this.delivered.add(1, attributes);
    this.latency.record(Math.max(0, event.latencyMs) / 1000, attributes);
  }

  private onFailed(event: AttemptFailedEvent): void {
    this.failed.add(1, {
      ...this.topicAttributes(event.message.topic),
      'nestjs_messaging.attempt.counted': event.counted,
    });
  }

  private onDead(event: MessageDeadEvent): void {
    this.dead.add(1, this.topicAttributes(event.message.topic));
  }

  private onSent(event: BatchSendEvent & { error?: unknown }): void {
    const started = this.started.get(event);
    if (started === undefined) return;
    this.started.delete(event);
    const topic = singleTopic(event.messages);
    const attributes: Attributes = {
      'messaging.system': this.systemOf(event.messenger),
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
    };
    if (topic !== undefined) attributes['messaging.destination.name'] = topic;
    if ('error' in event) attributes['error.type'] = errorTypeOf(event.error);
    this.sent.add(event.messages.length, attributes);
    this.duration.record((performance.now() - started) / 1000, attributes);
  }
}
