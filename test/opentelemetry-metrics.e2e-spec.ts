import { Logger } from '@nestjs/common';
import {
  MemoryOutboxStore,
  MessagingModule,
  MessengerUnavailableError,
  type MessagingModuleOptions,
  type Messenger,
} from 'nestjs-messaging';
import { MessagingTelemetryModule, TelemetryMetricNames as M } from 'nestjs-messaging/opentelemetry';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { startApp, type RunningApp } from './support/http-app.js';
import { installMetrics, type Point, type TestMetrics } from './support/otel-sdk.js';
import { TracedController } from './support/traced.controller.js';
import { waitFor } from './support/wait-for.js';

Logger.overrideLogger(['error']);

let meters: TestMetrics | undefined;
let running: RunningApp | undefined;
afterEach(async () => {
  await running?.close();
  await meters?.uninstall();
  running = meters = undefined;
});

async function start(
  messenger: Messenger,
  messaging: Omit<MessagingModuleOptions, 'messenger'> = {},
): Promise<RunningApp> {
  meters = installMetrics();
  running = await startApp('express', {
    imports: [
      MessagingModule.forRoot({ delivery: 'await', ...messaging, messenger }),
      MessagingTelemetryModule.forRoot({ tracing: false }),
    ],
    controllers: [TracedController],
  });
  return running;
}

/** The sum of a metric's points, optionally of those whose attributes include `where`. */
async function total(name: string, where: Record<string, unknown> = {}): Promise<number> {
  const points = await meters!.points(name);
  return points
    .filter((point) => Object.entries(where).every(([key, value]) => point.attributes[key] === value))
    .reduce((sum, point) => sum + point.value, 0);
}

/** Collects until `read` gives at least `atLeast` (or 5 s passed), letting timers run in between; the last value. */
async function eventually(read: () => Promise<number>, atLeast: number): Promise<number> {
  const deadline = Date.now() + 5000;
  let value = await read();
  while (value < atLeast && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

const byTopic = (points: Point[]): Record<string, number> =>
  Object.fromEntries(points.map((point) => [String(point.attributes['messaging.destination.name']), point.value]));

describe('metrics (MessagingTelemetryModule, meter nestjs-messaging)', () => {
  it('count accepted and delivered messages per topic, their latency, and each send of a batch', async () => {
    const capture = new CapturingMessenger();
    const app = await start(capture);
    expect((await app.request('POST', '/traced')).status).toBe(201);
    expect((await app.request('POST', '/traced')).status).toBe(201);
    expect(byTopic(await meters!.points(M.accepted))).toEqual({ '.traced.added': 2, '.traced.emitted': 2 });
    expect(byTopic(await meters!.points(M.delivered))).toEqual({ '.traced.added': 2, '.traced.emitted': 2 });
    const latency = await meters!.points(M.deliveryLatency);
    expect(latency.reduce((sum, point) => sum + point.value, 0)).toBe(4);
    expect(latency.every((point) => point.sum !== undefined && point.sum >= 0 && point.sum < 60)).toBe(true);
    expect(latency[0].attributes).toMatchObject({ 'messaging.system': 'capturing' });
    const sent = await meters!.points(M.clientSent);
    expect(sent.map((point) => point.attributes)).toEqual([
      { 'messaging.system': 'capturing', 'messaging.operation.name': 'send', 'messaging.operation.type': 'send' },
    ]);
    expect(sent[0].value).toBe(4);
    expect(await total(M.clientOperationDuration)).toBe(capture.batches.length);
    expect(await total(M.failedAttempts)).toBe(0);
    expect(await total(M.dead)).toBe(0);
  });

  it('count failed attempts (counted or not) and dead messages, and the sends that failed by error.type', async () => {
    const capture = new CapturingMessenger();
    capture.failWith(new Error('rejected by the broker'));
    const app = await start(capture, {
      delivery: 'background',
      dispatch: { retry: { maxAttempts: 2, initialDelayMs: 10, jitter: 0 }, busProbeIntervalMs: 10 },
    });
    expect((await app.request('POST', '/custom-context')).status).toBe(201);
    expect(await eventually(() => total(M.dead, { 'messaging.destination.name': '.traced.custom' }), 1)).toBe(1);
    expect(await total(M.failedAttempts, { 'nestjs_messaging.attempt.counted': true })).toBe(2);
    expect(await total(M.clientSent, { 'error.type': 'Error' })).toBe(2);
    expect(await total(M.delivered)).toBe(0);

    capture.failWith(new MessengerUnavailableError('the bus is down'));
    expect((await app.request('POST', '/custom-context')).status).toBe(201);
    const uncounted = await eventually(() => total(M.failedAttempts, { 'nestjs_messaging.attempt.counted': false }), 1);
    expect(uncounted).toBeGreaterThanOrEqual(1);
    expect(await total(M.clientSent, { 'error.type': 'MessengerUnavailableError' })).toBeGreaterThanOrEqual(1);
  });

  it('observe the outbox backlog per status and the age of its oldest pending message when collected', async () => {
    const capture = new CapturingMessenger();
    capture.failWith(new MessengerUnavailableError('the bus is down'));
    const app = await start(capture, { delivery: 'background', outbox: new MemoryOutboxStore() });
    const idle = await meters!.points(M.outboxMessages);
    expect(idle.map((point) => [point.attributes['nestjs_messaging.outbox.status'], point.value])).toEqual([
      ['pending', 0],
      ['delivered', 0],
      ['dead', 0],
    ]);
    expect((await meters!.points(M.oldestPendingAge))[0].value).toBe(0);

    expect((await app.request('POST', '/traced')).status).toBe(201);
    const acceptedAt = Date.now();
    expect(await total(M.outboxMessages, { 'nestjs_messaging.outbox.status': 'pending' })).toBe(2);
    const age = await eventually(() => total(M.oldestPendingAge), 0.051);
    expect(age).toBeGreaterThan(0.05);
    expect(age).toBeLessThanOrEqual((Date.now() - acceptedAt) / 1000 + 1);

    capture.failWith(undefined);
    await waitFor(() => capture.messages.length === 2, 10_000, 'delivery once the bus is back');
    expect(await total(M.outboxMessages, { 'nestjs_messaging.outbox.status': 'pending' })).toBe(0);
    expect(await total(M.oldestPendingAge)).toBe(0);
  });
});
