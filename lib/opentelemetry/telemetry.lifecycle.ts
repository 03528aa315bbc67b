import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { OutboxAdmin } from '../delivery/outbox-admin.service.js';
import { Messenger } from '../kernel/messenger.interface.js';
import { DeliveryMetrics } from './delivery.metrics.js';
import type { OtelApi } from './load-otel-api.js';
import { messagingSystemOf } from './messaging-system.js';
import { OutboxGauges } from './outbox.gauges.js';
import { SendSpanSubscriber } from './send-span.subscriber.js';
import { TELEMETRY_CONFIG, type TelemetryConfig } from './telemetry-options.interface.js';
import { TELEMETRY_SCOPE } from './telemetry.names.js';

/** Injection token of the loaded `@opentelemetry/api` (internal). */
export const OTEL_API = Symbol('nestjs-messaging:opentelemetry-api');

/**
 * Subscribes the send spans and the metrics to the delivery events when the module starts, and
 * unsubscribes when the application has shut down (after the shutdown drain, whose sends are
 * still traced and counted).
 */
@Injectable()
export class TelemetryLifecycle implements OnModuleInit, OnApplicationShutdown {
  private sendSpans: SendSpanSubscriber | undefined;
  private metrics: DeliveryMetrics | undefined;
  private gauges: OutboxGauges | undefined;

  constructor(
    @Inject(OTEL_API) private readonly api: OtelApi,
    @Inject(TELEMETRY_CONFIG) private readonly config: TelemetryConfig,
    @Inject(Messenger) private readonly messenger: Messenger,
    private readonly admin: OutboxAdmin,
  ) {}

  onModuleInit(): void {
    const systemOf = (messengerClass: string): string =>
      this.config.messagingSystem ?? messagingSystemOf(messengerClass);
    if (this.config.tracing) {
      this.sendSpans = new SendSpanSubscriber(this.api, systemOf);
      this.sendSpans.subscribe();
    }
    if (this.config.metrics) {
      const meter = this.api.metrics.getMeter(TELEMETRY_SCOPE);
      const system = systemOf(this.messenger.constructor.name);
      this.metrics = new DeliveryMetrics(meter, system, systemOf);
      this.metrics.subscribe();
      this.gauges = new OutboxGauges(meter, this.admin, system);
      this.gauges.start();
    }
  }

  onApplicationShutdown(): void {
    this.sendSpans?.unsubscribe();
    this.metrics?.unsubscribe();
    this.gauges?.stop();
    this.sendSpans = this.metrics = this.gauges = undefined;
  }
}
