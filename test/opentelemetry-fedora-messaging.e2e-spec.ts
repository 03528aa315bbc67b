import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { MessagingModule } from 'nestjs-messaging';
import { FedoraMessagingMessenger } from 'nestjs-messaging/fedora-messaging';
import { MessagingTelemetryModule } from 'nestjs-messaging/opentelemetry';
import { brokers } from './support/brokers.js';
import { FedoraMessagingConsumer } from './support/fedora-messaging-consumer.js';
import { startApp, type RunningApp } from './support/http-app.js';
import { installTracing, ServerSpanModule, type TestTracing } from './support/otel-sdk.js';
import { TracedController } from './support/traced.controller.js';
import { waitFor } from './support/wait-for.js';

Logger.overrideLogger(['error']);

let tracing: TestTracing | undefined;
let running: RunningApp | undefined;
let reading: FedoraMessagingConsumer | undefined;
afterEach(async () => {
  await running?.close();
  await reading?.close();
  await tracing?.uninstall();
  running = tracing = reading = undefined;
});

describe('trace context with FedoraMessagingMessenger (AMQP 0-9-1)', () => {
  it("carries traceparent as a message header to a consumer at RabbitMQ, with the request's trace id", async () => {
    const { url, username, password } = brokers().shared;
    const broker = url.replace('amqp://', `amqp://${username}:${password}@`);
    const prefix = `org.otel${randomUUID().slice(0, 8)}`;
    reading = await new FedoraMessagingConsumer().start(broker, `${prefix}.#`);
    tracing = installTracing();
    const messenger = new FedoraMessagingMessenger({ urls: [broker], app: 'otel-e2e', topicPrefix: prefix });
    running = await startApp('express', {
      imports: [
        ServerSpanModule,
        MessagingModule.forRoot({ messenger, delivery: 'await' }),
        MessagingTelemetryModule.forRoot(),
      ],
      controllers: [TracedController],
    });
    expect((await running.request('POST', '/traced')).status).toBe(201);
    await waitFor(() => reading!.received.length === 2, 5000, 'both messages at the consumer');
    await waitFor(() => tracing!.named('POST /traced').length === 1, 5000, 'the server span');
    const [server] = tracing.named('POST /traced');
    const received = reading.received.find(({ fields }) => fields.routingKey === `${prefix}.traced.added`)!;
    const [create] = tracing.named('create .traced.added');
    const headers = received.properties.headers ?? {};
    expect(String(headers.traceparent)).toBe(`00-${server.spanContext().traceId}-${create.spanContext().spanId}-01`);
    // The wire format's own headers are still there beside it.
    expect(headers.fedora_messaging_schema).toBe('base.message');
    expect(create.attributes['messaging.system']).toBe('rabbitmq');
  });
});
