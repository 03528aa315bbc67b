import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { Messenger } from '../kernel/messenger.interface.js';
import { MESSAGE_TRACER } from '../request/message-tracer.interface.js';
import { CreateSpanTracer } from './create-span.tracer.js';
import { loadOtelApi, type OtelApi } from './load-otel-api.js';
import { messagingSystemOf } from './messaging-system.js';
import { OTEL_API, TelemetryLifecycle } from './telemetry.lifecycle.js';
import {
  TELEMETRY_CONFIG,
  type MessagingTelemetryOptions,
  type TelemetryConfig,
} from './telemetry-options.interface.js';
import { resolveTelemetryOptions } from './telemetry-options.validation.js';

/**
 * OpenTelemetry traces and metrics of the messaging, through the global `@opentelemetry/api`
 * (an optional peer, loaded when this module starts): whatever SDK, exporters and context
 * manager the application registered (NodeSDK, or providers of its own) receive them; with
 * none registered, the API's no-op implementations make it do nothing. Nothing is traced or
 * measured unless this module is imported.
 *
 * - **Spans**: `create <topic>` (PRODUCER) per message added, in the request's trace, its
 *   W3C `traceparent`/`tracestate` stored in the message's headers (AMQP 1.0: application
 *   properties); `send <topic>` (CLIENT) per batch, linked to each message's create span, also
 *   after a restart.
 * - **Metrics** (meter `nestjs-messaging`): accepted, delivered, failed attempts, dead,
 *   acceptance-to-delivery latency, outbox backlog and oldest pending age.
 *
 * Import it next to `MessagingModule` (global, the default); one per process, as the delivery
 * events it subscribes to are process-wide.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     MessagingModule.forRoot({ messenger: new AmqpMessenger({ urls: ['amqp://broker:5672'] }) }),
 *     MessagingTelemetryModule.forRoot(),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
export class MessagingTelemetryModule {
  /**
   * @throws MessagingOptionsError naming an invalid option, at once.
   * @throws MessagingError at start-up when `@opentelemetry/api` is not installed.
   */
  static forRoot(options: MessagingTelemetryOptions = {}): DynamicModule {
    const config = resolveTelemetryOptions(options);
    const tracer: Provider = {
      provide: MESSAGE_TRACER,
      useFactory: (api: OtelApi, messenger: Messenger) =>
        new CreateSpanTracer(api, config.messagingSystem ?? messagingSystemOf(messenger.constructor.name)),
      inject: [OTEL_API, Messenger],
    };
    return {
      module: MessagingTelemetryModule,
      global: true,
      providers: [
        { provide: TELEMETRY_CONFIG, useValue: config satisfies TelemetryConfig },
        { provide: OTEL_API, useFactory: loadOtelApi },
        TelemetryLifecycle,
        // Without tracing, no tracer: MessageQueue.add() then does nothing more than without this module.
        ...(config.tracing ? [tracer] : []),
      ],
      exports: config.tracing ? [MESSAGE_TRACER] : [],
    };
  }
}
