import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter } from '@opentelemetry/sdk-trace-base';

/** What the environment asks for. */
export interface TelemetrySettings {
  /** `OTEL_TRACES_EXPORTER=console`: spans printed to stdout. */
  readonly tracing: boolean;
  /** `OTEL_METRICS_EXPORTER=prometheus`: metrics served by `GET /metrics`. */
  readonly metrics: boolean;
}

/**
 * Reads the OpenTelemetry SDK's own variables, with the values this sample supports:
 * `OTEL_TRACES_EXPORTER` `console` or `none` (default), `OTEL_METRICS_EXPORTER`
 * `prometheus` or `none` (default).
 */
export function telemetryFromEnv(env: NodeJS.ProcessEnv = process.env): TelemetrySettings {
  const traces = (env.OTEL_TRACES_EXPORTER ?? 'none').trim() || 'none';
  const meters = (env.OTEL_METRICS_EXPORTER ?? 'none').trim() || 'none';
  if (traces !== 'console' && traces !== 'none') {
    throw new Error(`OTEL_TRACES_EXPORTER: this sample supports "console" or "none", got "${traces}"`);
  }
  if (meters !== 'prometheus' && meters !== 'none') {
    throw new Error(`OTEL_METRICS_EXPORTER: this sample supports "prometheus" or "none", got "${meters}"`);
  }
  return { tracing: traces === 'console', metrics: meters === 'prometheus' };
}

/** The SDK the sample registered globally, and how to take it down. */
export interface RegisteredTelemetry {
  /** The Prometheus exporter (a metric reader; its HTTP server is not started): `GET /metrics` reads it. */
  readonly prometheus: PrometheusExporter | undefined;
  shutdown(): Promise<void>;
}

/**
 * Registers the OpenTelemetry SDK globally, as `NodeSDK` would (trimmed to the exporters this
 * sample uses): the AsyncLocalStorage context manager and a tracer provider printing spans to the
 * console, and a meter provider read by a Prometheus exporter.
 */
export function registerTelemetry(settings: TelemetrySettings): RegisteredTelemetry {
  let tracerProvider: BasicTracerProvider | undefined;
  let meterProvider: MeterProvider | undefined;
  let prometheus: PrometheusExporter | undefined;
  if (settings.tracing) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new ConsoleSpanExporter())] });
    trace.setGlobalTracerProvider(tracerProvider);
  }
  if (settings.metrics) {
    prometheus = new PrometheusExporter({ preventServerStart: true });
    meterProvider = new MeterProvider({ readers: [prometheus] });
    metrics.setGlobalMeterProvider(meterProvider);
  }
  return {
    prometheus,
    shutdown: async () => {
      if (tracerProvider !== undefined) {
        await tracerProvider.shutdown();
        trace.disable();
        context.disable();
      }
      if (meterProvider !== undefined) {
        await meterProvider.shutdown();
        metrics.disable();
      }
    },
  };
}
