import { Controller, Get, Header, Inject, NotFoundException } from '@nestjs/common';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { SAMPLE_TELEMETRY, type SampleTelemetry } from './sample-telemetry.js';

/** `GET /metrics`: the metrics in Prometheus text format, when `OTEL_METRICS_EXPORTER=prometheus`. */
@Controller()
export class MetricsController {
  private readonly serializer = new PrometheusSerializer();

  constructor(@Inject(SAMPLE_TELEMETRY) private readonly telemetry: SampleTelemetry) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    const exporter = this.telemetry.registered.prometheus;
    if (exporter === undefined) {
      throw new NotFoundException('No metrics exporter is configured: start with OTEL_METRICS_EXPORTER=prometheus');
    }
    const { resourceMetrics } = await exporter.collect();
    return this.serializer.serialize(resourceMetrics);
  }
}
