import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  createMessage,
  MessagingModule,
  MessengerUnavailableError,
  type Message,
  type Messenger,
  type MessagingModuleOptions,
} from 'nestjs-messaging';
import { AMQP_ADDRESS, AmqpMessenger } from 'nestjs-messaging/amqp';
import { MessagingTelemetryModule, type MessagingTelemetryOptions } from 'nestjs-messaging/opentelemetry';
import { SqliteOutboxStore } from 'nestjs-messaging/sqlite';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { deliveryChannels } from '../lib/kernel/delivery-events.js';
import { brokers, consume, declareTopicQueue } from './support/brokers.js';
import { startApp, type RunningApp } from './support/http-app.js';
import { installTracing, ServerSpanModule, type TestTracing } from './support/otel-sdk.js';
import { CUSTOM_TRACEPARENT, TracedController } from './support/traced.controller.js';
import { waitFor } from './support/wait-for.js';

Logger.overrideLogger(['error']);

let tracing: TestTracing | undefined;
let running: RunningApp | undefined;
afterEach(async () => {
  await running?.close();
  await tracing?.uninstall();
  running = tracing = undefined;
});

async function start(
  messenger: Messenger,
  telemetry: MessagingTelemetryOptions = {},
  messaging: Omit<MessagingModuleOptions, 'messenger'> = { delivery: 'await' },
): Promise<RunningApp> {
  running = await startApp('express', {
    imports: [
      ServerSpanModule,
      MessagingModule.forRoot({ ...messaging, messenger }),
      MessagingTelemetryModule.forRoot(telemetry),
    ],
    controllers: [TracedController],
  });
  return running;
}

const traceparentOf = (message: Message): unknown => message.headers.traceparent;

describe('create spans (MessagingTelemetryModule with an SDK registered)', () => {
  it("starts a PRODUCER span per message inside the request's trace and stores its context in traceparent", async () => {
    tracing = installTracing();
    const capture = new CapturingMessenger();
    const app = await start(capture);
    expect((await app.request('POST', '/traced')).status).toBe(201);
    await waitFor(() => tracing!.named('POST /traced').length === 1, 5000, 'the server span');
    const [server] = tracing.named('POST /traced');
    for (const topic of ['.traced.added', '.traced.emitted']) {
      const [create] = tracing.named(`create ${topic}`);
      expect(create.kind).toBe(SpanKind.PRODUCER);
      expect(create.spanContext().traceId).toBe(server.spanContext().traceId);
      expect(create.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
      const message = capture.messages.find((m) => m.topic === topic)!;
      expect(create.attributes).toEqual({
        'messaging.system': 'capturing',
        'messaging.operation.name': 'create',
        'messaging.operation.type': 'create',
        'messaging.destination.name': topic,
        'messaging.message.id': message.id,
      });
      expect(traceparentOf(message)).toBe(`00-${server.spanContext().traceId}-${create.spanContext().spanId}-01`);
    }
  });

  it('keeps a traceparent the application set and makes no create span for that message', async () => {
    tracing = installTracing();
    const capture = new CapturingMessenger();
    const app = await start(capture);
    expect((await app.request('POST', '/custom-context')).status).toBe(201);
    expect(traceparentOf(capture.messages[0])).toBe(CUSTOM_TRACEPARENT);
    expect(tracing.spans().filter((span) => span.name.startsWith('create '))).toEqual([]);
  });

  it('adds no header when tracing is off, or when no SDK is registered', async () => {
    tracing = installTracing();
    const capture = new CapturingMessenger();
    const app = await start(capture, { tracing: false });
    expect((await app.request('POST', '/traced')).status).toBe(201);
    expect(capture.messages.map(traceparentOf)).toEqual([undefined, undefined]);
    expect(tracing.spans().filter((span) => span.name.startsWith('create '))).toEqual([]);
    await app.close();
    await tracing.uninstall();
    tracing = undefined;

    const bare = new CapturingMessenger();
    running = await start(bare, { messagingSystem: 'custom' });
    expect((await running.request('POST', '/traced')).status).toBe(201);
    expect(bare.messages.map(traceparentOf)).toEqual([undefined, undefined]);
  });

  it("carries traceparent to a consumer at RabbitMQ (AMQP 1.0 application property) with the request's trace id", async () => {
    const { shared } = brokers();
    const queue = 'test.otel.traceparent';
    await declareTopicQueue(shared.url, queue, 'otel.traced.added');
    tracing = installTracing();
    const amqp = new AmqpMessenger({
      urls: [shared.url],
      username: 'guest',
      password: 'guest',
      address: AMQP_ADDRESS.rabbitmq3,
      topicPrefix: 'otel',
    });
    const app = await start(amqp);
    expect((await app.request('POST', '/traced')).status).toBe(201);
    const [received] = await consume(shared.url, queue, 1);
    await waitFor(() => tracing!.named('POST /traced').length === 1, 5000, 'the server span');
    const [server] = tracing.named('POST /traced');
    const [create] = tracing.named('create .traced.added');
    const traceparent = String(received.application_properties?.traceparent);
    expect(traceparent).toBe(`00-${server.spanContext().traceId}-${create.spanContext().spanId}-01`);
    expect(traceparent.split('-')[1]).toBe(server.spanContext().traceId);
    expect(create.attributes['messaging.system']).toBe('amqp');
  });
});

describe('send spans (from the nestjs-messaging:batch.send tracing channel)', () => {
  /** Publishes a batch send as delivery does, with `send` as the messenger's send(). */
  const sendThroughChannel = (messages: readonly Message[], send: () => Promise<void>): Promise<void> =>
    deliveryChannels.batchSend.tracePromise(send, { messages, messenger: 'AmqpMessenger' });

  it('links a CLIENT span per batch to each creation context in the headers, with the batch attributes', async () => {
    tracing = installTracing();
    await start(new CapturingMessenger());
    const first = createMessage('.a', {}, { headers: { traceparent: CUSTOM_TRACEPARENT, tracestate: 'vendor=1' } });
    const second = createMessage(
      '.b',
      {},
      { headers: { traceparent: '00-11111111111111111111111111111111-2222222222222222-00' } },
    );
    const untraced = createMessage('.b', {});
    await sendThroughChannel([first, second, untraced], () => Promise.resolve());
    const [send] = tracing.named('send');
    expect(send.kind).toBe(SpanKind.CLIENT);
    expect(send.parentSpanContext).toBeUndefined();
    expect(send.status.code).toBe(SpanStatusCode.UNSET);
    expect(send.attributes).toEqual({
      'messaging.system': 'amqp',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.batch.message_count': 3,
    });
    expect(
      send.links.map(({ context, attributes }) => ({
        traceId: context.traceId,
        spanId: context.spanId,
        flags: context.traceFlags,
        state: context.traceState?.serialize(),
        id: attributes?.['messaging.message.id'],
      })),
    ).toEqual([
      {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        flags: 1,
        state: 'vendor=1',
        id: first.id,
      },
      { traceId: '1'.repeat(32), spanId: '2'.repeat(16), flags: 0, state: undefined, id: second.id },
    ]);
  });

  it('names a one-topic batch after its topic, and ends a failed send with status ERROR and error.type', async () => {
    tracing = installTracing();
    await start(new CapturingMessenger());
    const message = createMessage('.one', {});
    const failing = sendThroughChannel([message], () => Promise.reject(new MessengerUnavailableError('broker down')));
    await expect(failing).rejects.toThrow('broker down');
    const [send] = tracing.named('send .one');
    expect(send.attributes).toMatchObject({
      'messaging.destination.name': '.one',
      'messaging.message.id': message.id,
      'error.type': 'MessengerUnavailableError',
    });
    expect(send.attributes['messaging.batch.message_count']).toBeUndefined();
    expect(send.status).toEqual({ code: SpanStatusCode.ERROR, message: 'broker down' });
  });

  it('stops making send spans once the application has shut down', async () => {
    tracing = installTracing();
    const app = await start(new CapturingMessenger());
    await app.close();
    running = undefined;
    await sendThroughChannel([createMessage('.late', {})], () => Promise.resolve());
    expect(tracing.named('send .late')).toEqual([]);
  });
});

describe('send spans of real delivery', () => {
  const spanIdsOf = (links: readonly { context: { spanId: string } }[]): string[] =>
    links.map(({ context }) => context.spanId).sort();

  it("links the batch's send span to the create spans of the request's messages", async () => {
    tracing = installTracing();
    const capture = new CapturingMessenger();
    const app = await start(capture);
    expect((await app.request('POST', '/traced')).status).toBe(201);
    await waitFor(() => tracing!.named('send').length === 1, 5000, 'the send span');
    const [send] = tracing.named('send');
    const creates = tracing.spans().filter((span) => span.name.startsWith('create '));
    expect(creates).toHaveLength(2);
    expect(spanIdsOf(send.links)).toEqual(creates.map((span) => span.spanContext().spanId).sort());
    expect(send.links.every(({ context }) => context.traceId === creates[0].spanContext().traceId)).toBe(true);
    expect(send.attributes).toMatchObject({ 'messaging.system': 'capturing', 'messaging.batch.message_count': 2 });
    expect(send.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('still links to the create spans when the messages are sent by a new instance after a restart (SQLite outbox)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otel-restart-'));
    try {
      const path = join(dir, 'outbox.db');
      tracing = installTracing();
      const down = new CapturingMessenger();
      down.failWith(new MessengerUnavailableError('the bus is down'));
      const before = await start(down, {}, { outbox: new SqliteOutboxStore({ path }), shutdownTimeoutMs: 100 });
      expect((await before.request('POST', '/traced')).status).toBe(201);
      await waitFor(() => tracing!.spans().some((span) => span.name === 'send'), 5000, 'the failed send span');
      const [failed] = tracing.named('send');
      expect(failed.attributes['error.type']).toBe('MessengerUnavailableError');
      expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'the bus is down' });
      const createIds = tracing
        .spans()
        .filter((span) => span.name.startsWith('create '))
        .map((span) => span.spanContext().spanId)
        .sort();
      expect(createIds).toHaveLength(2);
      await before.close();
      running = undefined;
      tracing.exporter.reset();

      const capture = new CapturingMessenger();
      await start(capture, {}, { outbox: new SqliteOutboxStore({ path }) });
      await waitFor(() => capture.messages.length === 2, 15_000, 'delivery after the restart');
      await waitFor(() => tracing!.spans().some((span) => span.name === 'send'), 5000, 'the send span');
      const [send] = tracing.named('send');
      expect(send.status.code).toBe(SpanStatusCode.UNSET);
      expect(spanIdsOf(send.links)).toEqual(createIds);
      expect(capture.messages.map((message) => String(message.headers.traceparent).split('-')[2]).sort()).toEqual(
        createIds,
      );
    } finally {
      await running?.close();
      running = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
