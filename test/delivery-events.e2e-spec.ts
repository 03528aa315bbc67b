import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  DeliveryChannelNames,
  MemoryOutboxStore,
  MessageQueue,
  MessagingModule,
  MessengerUnavailableError,
  type AttemptFailedEvent,
  type BatchSendEvent,
  type DispatchOptions,
  type LeaseEvent,
  type Message,
  type MessageAcceptedEvent,
  type MessageDeliveredEvent,
  type Messenger,
  type OutboxStore,
} from 'nestjs-messaging';
import { waitFor } from './support/wait-for.js';

/** What one send does: deliver, fail (counted), find the bus unreachable, or stall the process (ms). */
type Step = 'ok' | 'fail' | 'down' | { readonly stallMs: number };

/** A messenger that follows a script, one step per send; `ok` once the script is used up. */
class ScriptedMessenger implements Messenger {
  readonly taken: Message[] = [];
  constructor(private readonly script: Step[]) {}

  send(messages: readonly Message[]): Promise<void> {
    const step = this.script.shift() ?? 'ok';
    if (step === 'fail') return Promise.reject(new Error('rejected by the test broker'));
    if (step === 'down') return Promise.reject(new MessengerUnavailableError('the test bus is down'));
    if (typeof step === 'object') {
      // A process that stalls (a long GC, a blocked event loop) while the send is on its way.
      const until = Date.now() + step.stallMs;
      while (Date.now() < until);
    }
    this.taken.push(...messages);
    return Promise.resolve();
  }
}

interface Recorded {
  readonly name: string;
  readonly payload: unknown;
}

/** Records every delivery event, in publication order; `stop()` unsubscribes. */
function record(): { readonly events: Recorded[]; names(): string[]; stop(): void } {
  const events: Recorded[] = [];
  const plain = Object.entries(DeliveryChannelNames)
    .filter(([key]) => key !== 'batchSend')
    .map(([, name]) => {
      const listener = (payload: unknown): void => {
        events.push({ name, payload });
      };
      subscribe(name, listener);
      return { name, listener };
    });
  const tracing = tracingChannel<BatchSendEvent, BatchSendEvent>(DeliveryChannelNames.batchSend);
  const handlers = {
    start: (context: BatchSendEvent) => events.push({ name: 'batch.send:start', payload: { ...context } }),
    end: () => undefined,
    asyncStart: (context: BatchSendEvent) => events.push({ name: 'batch.send:asyncStart', payload: { ...context } }),
    asyncEnd: () => undefined,
    error: (context: BatchSendEvent) => events.push({ name: 'batch.send:error', payload: { ...context } }),
  };
  tracing.subscribe(handlers);
  return {
    events,
    names: () => events.map(({ name }) => name.replace('nestjs-messaging:', '')),
    stop: () => {
      for (const { name, listener } of plain) unsubscribe(name, listener);
      tracing.unsubscribe(handlers);
    },
  };
}

function payloadsOf<T>(events: readonly Recorded[], name: string): T[] {
  return events.filter((event) => event.name === name).map(({ payload }) => payload as T);
}

const NO_JITTER = { initialDelayMs: 50, jitter: 0 };

describe('delivery events (diagnostics_channel), real delivery with the memory store', () => {
  let moduleRef: TestingModule | undefined;
  let recorder: ReturnType<typeof record>;
  beforeEach(() => {
    recorder = record();
  });
  afterEach(async () => {
    recorder.stop();
    await moduleRef?.close();
    moduleRef = undefined;
  });

  async function start(messenger: Messenger, dispatch: DispatchOptions = {}, outbox?: OutboxStore) {
    moduleRef = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger, dispatch, ...(outbox === undefined ? {} : { outbox }) })],
    }).compile();
    await moduleRef.init();
    const queue = moduleRef.get(MessageQueue);
    return async (count = 1): Promise<Message[]> => {
      const added: Message[] = [];
      await queue.run(() => {
        for (let n = 0; n < count; n++) added.push(queue.add('.releases.added', { n }));
      });
      return added;
    };
  }

  it('success: accepted, then the batch send around the messenger, then delivered with its latency', async () => {
    const messenger = new ScriptedMessenger([]);
    const add = await start(messenger);
    const before = Date.now();
    const [message] = await add();
    await waitFor(() => recorder.names().includes('message.delivered'), 5000, 'message.delivered');
    const after = Date.now();
    expect(recorder.names()).toEqual([
      'message.accepted',
      'batch.send:start',
      'batch.send:asyncStart',
      'message.delivered',
    ]);
    const [accepted] = payloadsOf<MessageAcceptedEvent>(recorder.events, DeliveryChannelNames.accepted);
    expect(accepted.message).toBe(message);
    expect(accepted.acceptedAt).toBeGreaterThanOrEqual(before);
    const [sendStart] = payloadsOf<BatchSendEvent>(recorder.events, 'batch.send:start');
    expect(sendStart).toEqual({ messages: [message], messenger: 'ScriptedMessenger' });
    const [sendEnd] = payloadsOf<BatchSendEvent>(recorder.events, 'batch.send:asyncStart');
    expect(sendEnd.error).toBeUndefined();
    const [delivered] = payloadsOf<MessageDeliveredEvent>(recorder.events, DeliveryChannelNames.delivered);
    expect(delivered.message).toBe(message);
    // acceptedAt is when the store took it (its createdAt), at or before the outbox's own event.
    expect(delivered.acceptedAt).toBeGreaterThanOrEqual(before);
    expect(delivered.acceptedAt).toBeLessThanOrEqual(accepted.acceptedAt);
    expect(delivered.deliveredAt).toBeLessThanOrEqual(after);
    expect(delivered.latencyMs).toBe(delivered.deliveredAt - delivered.acceptedAt);
    expect(delivered.latencyMs).toBeGreaterThanOrEqual(0);
    expect(messenger.taken).toEqual([message]);
  });

  it('one event per message: a batch of three is accepted and delivered message by message, sent once', async () => {
    const add = await start(new ScriptedMessenger([]));
    const messages = await add(3);
    await waitFor(() => payloadsOf(recorder.events, DeliveryChannelNames.delivered).length === 3);
    const ids = messages.map(({ id }) => id);
    const idsOf = (name: string) =>
      payloadsOf<{ message: Message }>(recorder.events, name).map(({ message }) => message.id);
    expect(idsOf(DeliveryChannelNames.accepted)).toEqual(ids);
    expect(idsOf(DeliveryChannelNames.delivered)).toEqual(ids);
    const starts = payloadsOf<BatchSendEvent>(recorder.events, 'batch.send:start');
    expect(starts.map((start) => start.messages.map(({ id }) => id))).toEqual([ids]);
  });

  it('retry: a counted failure with its next attempt time, then the second attempt delivers', async () => {
    const add = await start(new ScriptedMessenger(['fail']), { retry: NO_JITTER });
    const [message] = await add();
    await waitFor(() => recorder.names().includes('message.delivered'), 5000, 'message.delivered');
    expect(recorder.names()).toEqual([
      'message.accepted',
      'batch.send:start',
      'batch.send:error',
      'batch.send:asyncStart',
      'attempt.failed',
      'batch.send:start',
      'batch.send:asyncStart',
      'message.delivered',
    ]);
    const [sendError] = payloadsOf<BatchSendEvent>(recorder.events, 'batch.send:error');
    expect(sendError.error).toEqual(new Error('rejected by the test broker'));
    const [failed] = payloadsOf<AttemptFailedEvent>(recorder.events, DeliveryChannelNames.attemptFailed);
    expect(failed).toEqual({
      message,
      reason: 'rejected by the test broker',
      counted: true,
      attempts: 1,
      nextAttemptAt: expect.any(Number) as number,
    });
    const [delivered] = payloadsOf<MessageDeliveredEvent>(recorder.events, DeliveryChannelNames.delivered);
    // The retry waited for its time: initialDelayMs (50 ms, no jitter) after the failure.
    expect(delivered.deliveredAt).toBeGreaterThanOrEqual(failed.nextAttemptAt ?? Infinity);
    expect(delivered.latencyMs).toBeGreaterThanOrEqual(50);
  });

  it('dead letter: each counted failure, the last without a next attempt, then message.dead', async () => {
    const add = await start(new ScriptedMessenger(['fail', 'fail', 'ok']), { retry: { ...NO_JITTER, maxAttempts: 2 } });
    const [message] = await add();
    await waitFor(() => recorder.names().includes('message.dead'), 5000, 'message.dead');
    expect(recorder.names()).toEqual([
      'message.accepted',
      'batch.send:start',
      'batch.send:error',
      'batch.send:asyncStart',
      'attempt.failed',
      'batch.send:start',
      'batch.send:error',
      'batch.send:asyncStart',
      'attempt.failed',
      'message.dead',
    ]);
    const failed = payloadsOf<AttemptFailedEvent>(recorder.events, DeliveryChannelNames.attemptFailed);
    expect(failed.map(({ attempts, counted }) => ({ attempts, counted }))).toEqual([
      { attempts: 1, counted: true },
      { attempts: 2, counted: true },
    ]);
    expect(failed[0].nextAttemptAt).toEqual(expect.any(Number));
    expect(failed[1].nextAttemptAt).toBeUndefined();
    expect(payloadsOf(recorder.events, DeliveryChannelNames.dead)).toEqual([
      { message, reason: 'rejected by the test broker', attempts: 2, deadReason: 'exhausted' },
    ]);
  });

  it('bus unreachable: not-counted failures, paused once, resumed when the bus takes the batch', async () => {
    const messenger = new ScriptedMessenger(['down', 'down']);
    const add = await start(messenger, { retry: NO_JITTER, busProbeIntervalMs: 100 });
    const [message] = await add();
    await waitFor(() => recorder.names().includes('delivery.resumed'), 5000, 'delivery.resumed');
    const names = recorder.names().filter((name) => !name.startsWith('batch.send'));
    expect(names).toEqual([
      'message.accepted',
      'attempt.failed',
      'delivery.paused',
      'attempt.failed',
      'message.delivered',
      'delivery.resumed',
    ]);
    const failed = payloadsOf<AttemptFailedEvent>(recorder.events, DeliveryChannelNames.attemptFailed);
    for (const failure of failed) {
      expect(failure).toEqual({
        message,
        reason: 'the test bus is down',
        counted: false,
        attempts: 0,
        nextAttemptAt: expect.any(Number) as number,
      });
    }
    const [paused] = payloadsOf<{ reason: string; pausedUntil: number }>(recorder.events, DeliveryChannelNames.paused);
    expect(paused.reason).toBe('the test bus is down');
    // The first probe waits retry.initialDelayMs (50 ms, no jitter) after the first failure.
    expect(paused.pausedUntil).toBe((failed[0].nextAttemptAt ?? NaN) + 50);
    const [resumed] = payloadsOf<{ pausedSince: number; resumedAt: number }>(
      recorder.events,
      DeliveryChannelNames.resumed,
    );
    const [delivered] = payloadsOf<MessageDeliveredEvent>(recorder.events, DeliveryChannelNames.delivered);
    expect(resumed.resumedAt).toBe(delivered.deliveredAt);
    expect(resumed.pausedSince).toBeLessThan(paused.pausedUntil);
    expect(resumed.resumedAt - resumed.pausedSince).toBeGreaterThanOrEqual(50);
    expect(messenger.taken).toEqual([message]);
  });

  it('lease.lost: an outcome that comes after the lease expired names its messages', async () => {
    const add = await start(new ScriptedMessenger([{ stallMs: 150 }]), { leaseMs: 100, sendTimeoutMs: 50 });
    const [message] = await add();
    await waitFor(() => recorder.names().includes('lease.lost'), 5000, 'lease.lost');
    expect(payloadsOf(recorder.events, DeliveryChannelNames.leaseLost)).toEqual([
      {
        owner: expect.stringMatching(new RegExp(`-${process.pid}-[0-9a-f-]{36}$`)) as string,
        count: 1,
        ids: [message.id],
      },
    ]);
  });

  it('no lease.lost when the outcome is in time', async () => {
    const add = await start(new ScriptedMessenger([]), { leaseMs: 10_000 });
    await add(2);
    await waitFor(() => payloadsOf(recorder.events, DeliveryChannelNames.delivered).length === 2);
    expect(recorder.names()).not.toContain('lease.lost');
  });

  it('lease.taken-over: one event per owner the store proves gone, at start-up', async () => {
    const store = new MemoryOutboxStore();
    const recovering = Object.assign(store, {
      takeOverLeases: (): Promise<{ owner: string; count: number }[]> =>
        Promise.resolve([
          { owner: 'host-a-1-gone', count: 3 },
          { owner: 'host-b-2-gone', count: 1 },
        ]),
    });
    await start(new ScriptedMessenger([]), {}, recovering);
    const takenOver = payloadsOf<LeaseEvent>(recorder.events, DeliveryChannelNames.leaseTakenOver);
    expect(takenOver).toEqual([
      { owner: expect.any(String) as string, from: 'host-a-1-gone', count: 3 },
      { owner: expect.any(String) as string, from: 'host-b-2-gone', count: 1 },
    ]);
    expect(takenOver[0].owner).not.toBe('host-a-1-gone');
  });
});
