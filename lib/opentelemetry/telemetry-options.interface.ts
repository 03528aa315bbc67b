/** Options of `MessagingTelemetryModule.forRoot()`. */
export interface MessagingTelemetryOptions {
  /**
   * Spans: a `create` span per message added (its context travels in the message's
   * `traceparent`/`tracestate` headers) and a `send` span per batch handed to the messenger.
   * Off, adding a message costs nothing more. Default: `true`.
   */
  tracing?: boolean;
  /** Counters, histograms and outbox gauges through the meter `nestjs-messaging`. Default: `true`. */
  metrics?: boolean;
  /**
   * The `messaging.system` attribute of every span and metric. Default: from the messenger's
   * class: `amqp` (AmqpMessenger), `fedmsg`, `rabbitmq` (FedoraMessagingMessenger), `logging`;
   * for your own messenger, its class name without `Messenger`, lower-cased.
   */
  messagingSystem?: string;
}

/** The options with defaults applied (internal). */
export interface TelemetryConfig {
  readonly tracing: boolean;
  readonly metrics: boolean;
  readonly messagingSystem: string | undefined;
}

/** Injection token of the resolved options (internal). */
export const TELEMETRY_CONFIG = Symbol('nestjs-messaging:telemetry-config');
