import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingTelemetryModule } from 'nestjs-messaging/opentelemetry';
import { MetricsController } from './metrics.controller.js';
import { SAMPLE_TELEMETRY, SampleTelemetry } from './sample-telemetry.js';
import { registerTelemetry, telemetryFromEnv } from './telemetry.setup.js';

/**
 * The sample's observability: with `OTEL_TRACES_EXPORTER=console` and/or
 * `OTEL_METRICS_EXPORTER=prometheus`, registers the OpenTelemetry SDK and imports
 * `MessagingTelemetryModule` (tracing and metrics as asked); `GET /metrics` serves the metrics.
 */
@Module({})
export class SampleTelemetryModule {
  static fromEnv(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    const settings = telemetryFromEnv(env);
    const used = settings.tracing || settings.metrics;
    return {
      module: SampleTelemetryModule,
      // The SDK is registered when this provider is built: before any module's onModuleInit, so
      // MessagingTelemetryModule gets the registered meter.
      providers: [
        {
          provide: SAMPLE_TELEMETRY,
          useFactory: () =>
            new SampleTelemetry(
              used ? registerTelemetry(settings) : { prometheus: undefined, shutdown: () => Promise.resolve() },
            ),
        },
      ],
      imports: used ? [MessagingTelemetryModule.forRoot(settings)] : [],
      controllers: [MetricsController],
    };
  }
}
