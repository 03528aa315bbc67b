import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { MessagingModule } from 'nestjs-messaging';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { ReleasesModule } from '../sample-app/releases/releases.module.js';
import { SampleTelemetryModule } from '../sample-app/telemetry/sample-telemetry.module.js';
import { telemetryFromEnv } from '../sample-app/telemetry/telemetry.setup.js';
import { startApp, type RunningApp } from './support/http-app.js';

Logger.overrideLogger(['error']);

let running: RunningApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
  jest.restoreAllMocks();
});

async function startSample(env: NodeJS.ProcessEnv, capture = new CapturingMessenger()): Promise<RunningApp> {
  running = await startApp('express', {
    imports: [
      MessagingModule.forRoot({ delivery: 'await', messenger: capture }),
      ReleasesModule,
      SampleTelemetryModule.fromEnv(env),
    ],
  });
  return running;
}

const FEDORA = { short: 'fedora', version: '41', name: 'Fedora' };

describe('sample app telemetry', () => {
  it('serves GET /metrics in Prometheus text format with OTEL_METRICS_EXPORTER=prometheus', async () => {
    const app = await startSample({ OTEL_METRICS_EXPORTER: 'prometheus' });
    expect((await app.request('POST', '/releases', { body: FEDORA })).status).toBe(201);
    const response = await fetch(`${app.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await response.text();
    expect(text).toContain('# TYPE nestjs_messaging_accepted_messages_total counter');
    expect(text).toMatch(
      /^nestjs_messaging_accepted_messages_total\{[^}]*messaging_destination_name="\.releases\.added"[^}]*\} 1$/m,
    );
    expect(text).toMatch(/^nestjs_messaging_delivered_messages_total\{[^}]*\} 1$/m);
    expect(text).toMatch(/^nestjs_messaging_outbox_messages\{[^}]*nestjs_messaging_outbox_status="pending"[^}]*\} 0$/m);
    expect(text).toContain('nestjs_messaging_delivery_duration_bucket');
  });

  it('answers 404 on GET /metrics without a metrics exporter, and adds no traceparent without tracing', async () => {
    const capture = new CapturingMessenger();
    const app = await startSample({}, capture);
    expect((await app.request('GET', '/metrics')).status).toBe(404);
    expect((await app.request('POST', '/releases', { body: FEDORA })).status).toBe(201);
    expect(capture.messages[0].headers).toEqual({});
  });

  it('traces with OTEL_TRACES_EXPORTER=console: traceparent on each message, spans printed', async () => {
    const printed: unknown[] = [];
    jest.spyOn(console, 'dir').mockImplementation((value) => {
      printed.push(value);
    });
    const capture = new CapturingMessenger();
    const app = await startSample({ OTEL_TRACES_EXPORTER: 'console' }, capture);
    expect((await app.request('POST', '/releases', { body: FEDORA })).status).toBe(201);
    expect(String(capture.messages[0].headers.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await app.close(); // flushes the batch span processor
    running = undefined;
    const names = printed.map((span) => (span as { name?: unknown }).name);
    expect(names).toContain('create .releases.added');
    expect(names).toContain('send .releases.added');
  });

  it('refuses exporters it does not support, naming the variable', () => {
    expect(() => telemetryFromEnv({ OTEL_TRACES_EXPORTER: 'otlp' })).toThrow('OTEL_TRACES_EXPORTER');
    expect(() => telemetryFromEnv({ OTEL_METRICS_EXPORTER: 'otlp' })).toThrow('OTEL_METRICS_EXPORTER');
    expect(telemetryFromEnv({})).toEqual({ tracing: false, metrics: false });
  });
});
