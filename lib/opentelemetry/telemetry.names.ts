/** Instrumentation scope of the tracer and the meter: `nestjs-messaging`. */
export const TELEMETRY_SCOPE = 'nestjs-messaging';

/**
 * The metrics `MessagingTelemetryModule` reports (meter `nestjs-messaging`); the README's
 * "OpenTelemetry" section gives each one's type, unit and attributes.
 */
export const TelemetryMetricNames = {
  /** Counter, `{message}`: messages the outbox stored (attribute `messaging.destination.name`). */
  accepted: 'nestjs_messaging.accepted.messages',
  /** Counter, `{message}`: messages the bus took. */
  delivered: 'nestjs_messaging.delivered.messages',
  /** Counter, `{attempt}`: failed attempts (attribute `nestjs_messaging.attempt.counted`). */
  failedAttempts: 'nestjs_messaging.failed.attempts',
  /** Counter, `{message}`: messages given up on. */
  dead: 'nestjs_messaging.dead.messages',
  /** Histogram, `s`: from acceptance into the outbox to the bus taking the message. */
  deliveryLatency: 'nestjs_messaging.delivery.duration',
  /** Observable gauge, `{message}`: messages in the outbox per `nestjs_messaging.outbox.status`. */
  outboxMessages: 'nestjs_messaging.outbox.messages',
  /** Observable gauge, `s`: age of the oldest pending message (0 when none). */
  oldestPendingAge: 'nestjs_messaging.outbox.oldest_pending.age',
  /** Counter, `{message}` (semantic conventions): messages handed to the bus, `error.type` when the send failed. */
  clientSent: 'messaging.client.sent.messages',
  /** Histogram, `s` (semantic conventions): duration of each `send()` of a batch. */
  clientOperationDuration: 'messaging.client.operation.duration',
} as const;
