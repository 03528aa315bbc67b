import { Injectable, Module, type MiddlewareConsumer, type NestMiddleware, type NestModule } from '@nestjs/common';
import { context, metrics, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

/** The OpenTelemetry SDK registered globally for one test: spans kept in memory. */
export interface TestTracing {
  readonly exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  named(name: string): ReadableSpan[];
  uninstall(): Promise<void>;
}

/** Registers a tracer provider with an in-memory exporter and the AsyncLocalStorage context manager. */
export function installTracing(): TestTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  trace.setGlobalTracerProvider(provider);
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    named: (name) => exporter.getFinishedSpans().filter((span) => span.name === name),
    uninstall: async () => {
      trace.disable();
      context.disable();
      await provider.shutdown();
    },
  };
}

/** A reader the test collects from when it wants (cumulative). */
class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** One data point as the test reads it. */
export interface Point {
  readonly attributes: Record<string, unknown>;
  /** A counter's or gauge's value, or a histogram's count. */
  readonly value: number;
  /** A histogram's sum. */
  readonly sum?: number;
}

/** The meter provider registered globally for one test, read on demand. */
export interface TestMetrics {
  collect(): Promise<ResourceMetrics>;
  /** The points of metric `name` in a fresh collection. */
  points(name: string): Promise<Point[]>;
  uninstall(): Promise<void>;
}

export function installMetrics(): TestMetrics {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  const collect = async (): Promise<ResourceMetrics> => {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
    return resourceMetrics;
  };
  return {
    collect,
    points: async (name) => {
      const collected = await collect();
      const metric = collected.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name);
      return (metric?.dataPoints ?? []).map((point) => {
        const value = point.value as number | { count: number; sum?: number };
        return typeof value === 'number'
          ? { attributes: point.attributes, value }
          : { attributes: point.attributes, value: value.count, sum: value.sum };
      });
    },
    uninstall: async () => {
      metrics.disable();
      await provider.shutdown();
    },
  };
}

/** Starts a SERVER span around each HTTP request and makes it active for the handler, as an HTTP instrumentation would. */
@Injectable()
class ServerSpanMiddleware implements NestMiddleware {
  use(
    request: { method: string; originalUrl: string },
    response: { on(event: 'finish', fn: () => void): void },
    next: () => void,
  ) {
    const span = trace
      .getTracer('test-http')
      .startSpan(`${request.method} ${request.originalUrl}`, { kind: SpanKind.SERVER });
    response.on('finish', () => {
      span.end();
    });
    context.with(trace.setSpan(context.active(), span), next);
  }
}

/** Import it in a test app: every route gets a server span, like @opentelemetry/instrumentation-http gives. */
@Module({})
export class ServerSpanModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ServerSpanMiddleware).forRoutes('*path');
  }
}
