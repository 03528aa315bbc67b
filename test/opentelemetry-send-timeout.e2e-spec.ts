import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { SpanStatusCode } from '@opentelemetry/api';
import { MessageQueue, MessagingModule, type Message, type Messenger } from 'nestjs-messaging';
import { MessagingTelemetryModule, TelemetryMetricNames } from 'nestjs-messaging/opentelemetry';
import { installMetrics, installTracing, type TestMetrics, type TestTracing } from './support/otel-sdk.js';
import { waitFor } from './support/wait-for.js';

Logger.overrideLogger(['error']);

/** A messenger whose first send() never settles; later ones deliver. */
class HangingOnceMessenger implements Messenger {
  readonly delivered: Message[] = [];
  private calls = 0;

  send(messages: readonly Message[]): Promise<void> {
    if (this.calls++ === 0) return new Promise<void>(() => undefined);
    this.delivered.push(...messages);
    return Promise.resolve();
  }
}

let moduleRef: TestingModule | undefined;
let tracing: TestTracing | undefined;
let meters: TestMetrics | undefined;
afterEach(async () => {
  await moduleRef?.close();
  await tracing?.uninstall();
  await meters?.uninstall();
  moduleRef = tracing = meters = undefined;
});

describe('a send() that never settles (dispatch.sendTimeoutMs)', () => {
  it('ends its send span with status ERROR at the timeout, and counts it as a failed send', async () => {
    tracing = installTracing();
    meters = installMetrics();
    const messenger = new HangingOnceMessenger();
    moduleRef = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({
          messenger,
          shutdownTimeoutMs: 200,
          dispatch: { leaseMs: 5000, sendTimeoutMs: 100, retry: { initialDelayMs: 10, jitter: 0 } },
        }),
        MessagingTelemetryModule.forRoot(),
      ],
    }).compile();
    await moduleRef.init();
    await moduleRef.get(MessageQueue).run(() => moduleRef!.get(MessageQueue).add('.slow', {}));
    await waitFor(() => messenger.delivered.length === 1, 5000, 'the retry after the timeout');
    await waitFor(() => tracing!.named('send .slow').length === 2, 5000, 'both send spans ended');
    const [timedOut, retried] = tracing.named('send .slow');
    expect(timedOut.status.code).toBe(SpanStatusCode.ERROR);
    expect(timedOut.status.message).toContain('dispatch.sendTimeoutMs');
    expect(timedOut.attributes['error.type']).toBe('Error');
    expect(retried.status.code).toBe(SpanStatusCode.UNSET);
    const sends = await meters.points(TelemetryMetricNames.clientSent);
    const byError = Object.fromEntries(sends.map(({ attributes, value }) => [String(attributes['error.type']), value]));
    expect(byError).toEqual({ Error: 1, undefined: 1 });
  });
});
