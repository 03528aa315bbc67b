import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

const done = (callback: (result: ExportResult) => void): void => {
  callback({ code: ExportResultCode.SUCCESS });
};

/** Takes spans and drops them. */
const noopSpanExporter: SpanExporter = {
  export: (_spans, callback) => {
    done(callback);
  },
  shutdown: () => Promise.resolve(),
};

/** Takes metrics and drops them. */
const noopMetricExporter: PushMetricExporter = {
  export: (_metrics, callback) => {
    done(callback);
  },
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
};

/**
 * The OpenTelemetry SDK as an application registers it (AsyncLocalStorage context manager, every
 * span sampled and handed to an exporter, metrics exported every 10 s), with exporters that drop
 * everything: the benchmark measures what recording costs, not a backend.
 */
export function registerNoopSdk(): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(noopSpanExporter)] }),
  );
  metrics.setGlobalMeterProvider(
    new MeterProvider({
      readers: [new PeriodicExportingMetricReader({ exporter: noopMetricExporter, exportIntervalMillis: 10_000 })],
    }),
  );
}
