import { jest } from '@jest/globals';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  DeliveryChannelNames,
  MessageQueue,
  MessagingModule,
  MessagingOptionsError,
  MessengerSendError,
  MessengerUnavailableError,
  NonRetryableMessageError,
  OutboxAdmin,
  type AttemptFailedEvent,
  type DispatchOptions,
  type Message,
  type Messenger,
  type OutboxEntry,
} from 'nestjs-messaging';
import { waitFor } from './support/wait-for.js';

// Failure classification with the memory store and a scripted messenger: NonRetryableMessageError,
// per-message retryable: false, dispatch.retry.retryIf and a backoff function; the bus being
// unreachable is never classified nor counted.
Logger.overrideLogger(['error']);

/** What one send does; `ok` once the script is used up. */
type Step = (messages: readonly Message[]) => Promise<void>;

class ScriptedMessenger implements Messenger {
  readonly taken: Message[] = [];
  sends = 0;
  constructor(private readonly script: Step[]) {}

  async send(messages: readonly Message[]): Promise<void> {
    this.sends++;
    const step = this.script.shift();
    if (step !== undefined) await step(messages);
    this.taken.push(...messages);
  }
}

const opened: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((moduleRef) => moduleRef.close()));
});

async function start(
  messenger: Messenger,
  dispatch: DispatchOptions,
): Promise<{ queue: MessageQueue; admin: OutboxAdmin }> {
  const moduleRef = await Test.createTestingModule({
    imports: [MessagingModule.forRoot({ messenger, dispatch: { pollIntervalMs: 20, ...dispatch } })],
  }).compile();
  opened.push(moduleRef);
  await moduleRef.init();
  return { queue: moduleRef.get(MessageQueue), admin: moduleRef.get(OutboxAdmin) };
}

/** Polls the outbox (every 10 ms, for at most 5 s) until `ready` holds for its entries of `status`; returns them. */
async function entriesWhen(
  admin: OutboxAdmin,
  status: 'pending' | 'dead',
  ready: (entries: OutboxEntry[]) => boolean,
  what: string,
): Promise<OutboxEntry[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const entries = await admin.list({ status });
    if (ready(entries)) return entries;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(entries)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('failure classification (memory store, scripted messenger)', () => {
  it('NonRetryableMessageError: the batch is dead after one attempt, retryIf and backoff not asked', async () => {
    const retryIf = jest.fn((): boolean => true);
    const backoff = jest.fn((): number => 10);
    const messenger = new ScriptedMessenger([
      () => Promise.reject(new NonRetryableMessageError('the bus takes at most 1 KiB, got 2048 bytes')),
    ]);
    const { queue, admin } = await start(messenger, { retry: { retryIf, backoff, maxAttempts: 20 } });
    await queue.run(() => {
      queue.add('.big', { n: 1 });
      queue.add('.big', { n: 2 });
    });
    const dead = await entriesWhen(admin, 'dead', (entries) => entries.length === 2, 'both dead');
    const reason = 'the bus takes at most 1 KiB, got 2048 bytes';
    expect(dead.map(({ attempts, lastError, deadReason }) => ({ attempts, lastError, deadReason }))).toEqual([
      { attempts: 1, lastError: reason, deadReason: 'rejected' },
      { attempts: 1, lastError: reason, deadReason: 'rejected' },
    ]);
    expect(dead[0].history).toEqual([
      { at: expect.any(Number) as number, error: reason, messenger: 'ScriptedMessenger', counted: true },
    ]);
    expect(messenger.sends).toBe(1);
    expect(retryIf).not.toHaveBeenCalled();
    expect(backoff).not.toHaveBeenCalled();
    expect((await admin.stats()).sinceStart).toMatchObject({ dead: 2, failedAttempts: 2, delivered: 0 });
  });

  it("MessengerSendError with retryable: false: that message dead at once, the batch's others delivered or retried", async () => {
    const messenger = new ScriptedMessenger([
      (messages) =>
        Promise.reject(
          new MessengerSendError({
            acceptedIds: [messages[0].id],
            failures: [
              { messageId: messages[1].id, reason: 'malformed (422)', counted: true, retryable: false },
              { messageId: messages[2].id, reason: 'busy (503)', counted: true },
            ],
          }),
        ),
    ]);
    const { queue, admin } = await start(messenger, { retry: { initialDelayMs: 10, maxDelayMs: 10 } });
    await queue.run(() => {
      for (const n of [1, 2, 3]) queue.add(`.t${n}`, { n });
    });
    const [dead] = await entriesWhen(admin, 'dead', (entries) => entries.length === 1, 'the malformed one dead');
    expect(dead).toMatchObject({
      attempts: 1,
      lastError: 'malformed (422)',
      deadReason: 'rejected',
      message: { body: { n: 2 } },
    });
    await waitFor(() => messenger.taken.some(({ body }) => body.n === 3), 5000, 'the busy one retried');
    expect(messenger.taken.map(({ body }) => body.n)).toEqual([3]);
    // The first was accepted in the failed send: marked delivered, never sent again.
    await entriesWhen(admin, 'pending', (entries) => entries.length === 0, 'nothing pending');
    expect((await admin.stats()).sinceStart).toMatchObject({ delivered: 2, dead: 1, failedAttempts: 2 });
  });

  it('retryIf(error, attempt, message): false is dead at once; true follows the schedule to delivery', async () => {
    const calls: [unknown, number, string][] = [];
    const errors = [new Error('HTTP 400 bad request'), new Error('HTTP 503 unavailable')];
    const messenger = new ScriptedMessenger([
      (messages) => Promise.reject(errors[messages[0].body.n === 1 ? 0 : 1]),
      (messages) => Promise.reject(errors[messages[0].body.n === 1 ? 0 : 1]),
    ]);
    const { queue, admin } = await start(messenger, {
      batchSize: 1,
      retry: {
        initialDelayMs: 10,
        maxDelayMs: 10,
        maxAttempts: 5,
        retryIf: (error, attempt, message) => {
          calls.push([error, attempt, message.id]);
          return !(error instanceof Error && error.message.startsWith('HTTP 4'));
        },
      },
    });
    const ids: string[] = [];
    await queue.run(() => {
      ids.push(queue.add('.a', { n: 1 }).id, queue.add('.b', { n: 2 }).id);
    });
    const [dead] = await entriesWhen(admin, 'dead', (entries) => entries.length === 1, 'the 400 dead');
    expect(dead).toMatchObject({
      attempts: 1,
      lastError: 'HTTP 400 bad request',
      deadReason: 'rejected',
      message: { id: ids[0] },
    });
    await waitFor(() => messenger.taken.length === 1, 5000, 'the 503 delivered on its second attempt');
    expect(messenger.taken[0].id).toBe(ids[1]);
    expect(calls).toEqual([
      [errors[0], 1, ids[0]],
      [errors[1], 1, ids[1]],
    ]);
  });

  it('backoff(attempt, error, message) sets each next attempt instead of the built-in schedule', async () => {
    const calls: [number, unknown, string][] = [];
    const error = new Error('throttled');
    const messenger = new ScriptedMessenger([() => Promise.reject(error), () => Promise.reject(error)]);
    const { queue, admin } = await start(messenger, {
      retry: {
        maxAttempts: 5,
        backoff: (attempt, thrown, message) => {
          calls.push([attempt, thrown, message.id]);
          // 30 ms, then an hour: the built-in schedule says about 1 s, then about 2 s.
          return attempt === 1 ? 30 : 3_600_000;
        },
      },
    });
    // When each failure was recorded, and the next attempt it set.
    const failures: { seenAt: number; nextAttemptAt: number | undefined }[] = [];
    const onFailed = (event: unknown): void => {
      failures.push({ seenAt: Date.now(), nextAttemptAt: (event as AttemptFailedEvent).nextAttemptAt });
    };
    subscribe(DeliveryChannelNames.attemptFailed, onFailed);
    let id = '';
    try {
      await queue.run(() => {
        id = queue.add('.slow', {}).id;
      });
      await entriesWhen(admin, 'pending', ([entry]) => entry.attempts === 2, 'the second failure');
    } finally {
      unsubscribe(DeliveryChannelNames.attemptFailed, onFailed);
    }
    expect(failures).toHaveLength(2);
    // Set from the backoff: at most 30 ms after the failure was recorded (the built-in schedule: 500-1000 ms).
    expect(failures[0].nextAttemptAt).toBeLessThanOrEqual(failures[0].seenAt + 30);
    expect(failures[1].nextAttemptAt).toBeGreaterThanOrEqual(failures[0].seenAt + 3_600_000);
    expect(calls).toEqual([
      [1, error, id],
      [2, error, id],
    ]);
  });

  it('gives up with reason exhausted after maxAttempts and expired after maxAgeMs, keeping each attempt', async () => {
    const failing = (): Promise<void> => Promise.reject(new Error('still failing'));
    const exhausting = await start(new ScriptedMessenger([failing, failing]), {
      retry: { initialDelayMs: 10, maxDelayMs: 10, maxAttempts: 2 },
    });
    await exhausting.queue.run(() => {
      exhausting.queue.add('.exhausted', {});
    });
    const [exhausted] = await entriesWhen(exhausting.admin, 'dead', (entries) => entries.length === 1, 'exhausted');
    expect(exhausted).toMatchObject({ attempts: 2, deadReason: 'exhausted', lastError: 'still failing' });
    expect(exhausted.history.map(({ error, counted }) => ({ error, counted }))).toEqual([
      { error: 'still failing', counted: true },
      { error: 'still failing', counted: true },
    ]);
    // maxAgeMs 0: the first failure already finds the message too old.
    const expiring = await start(new ScriptedMessenger([failing]), { retry: { maxAgeMs: 0, maxAttempts: 20 } });
    await expiring.queue.run(() => {
      expiring.queue.add('.expired', {});
    });
    const [expired] = await entriesWhen(expiring.admin, 'dead', (entries) => entries.length === 1, 'expired');
    expect(expired).toMatchObject({ attempts: 1, deadReason: 'expired' });
  });

  it('never classifies or counts an unreachable bus: retryIf and backoff not asked, attempts stay 0', async () => {
    const retryIf = jest.fn((): boolean => false);
    const backoff = jest.fn((): number => 10);
    const down = (): Promise<void> => Promise.reject(new MessengerUnavailableError('the test bus is down'));
    const messenger = new ScriptedMessenger([
      down,
      down,
      (messages) =>
        Promise.reject(
          new MessengerSendError({
            acceptedIds: [],
            failures: messages.map(({ id }) => ({ messageId: id, reason: 'connection reset', counted: false })),
            unavailable: 'connection reset',
          }),
        ),
    ]);
    const { queue, admin } = await start(messenger, {
      busProbeIntervalMs: 20,
      retry: { retryIf, backoff, initialDelayMs: 10, maxAttempts: 1 },
    });
    await queue.run(() => {
      queue.add('.outage', { n: 1 });
    });
    await waitFor(() => messenger.taken.length === 1, 5000, 'delivery once the bus is back');
    expect(messenger.sends).toBe(4);
    expect(retryIf).not.toHaveBeenCalled();
    expect(backoff).not.toHaveBeenCalled();
    expect((await admin.stats()).sinceStart).toMatchObject({ delivered: 1, failedAttempts: 0, dead: 0 });
  });

  it('refuses invalid retryIf and backoff at start-up, naming the option', async () => {
    const compile = Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({
          dispatch: { retry: { retryIf: 'no' as never, backoff: () => 1, jitter: 0.1 } },
        }),
      ],
    }).compile();
    await expect(compile).rejects.toThrow(MessagingOptionsError);
    await expect(
      Test.createTestingModule({
        imports: [
          MessagingModule.forRoot({ dispatch: { retry: { retryIf: 'no' as never, backoff: () => 1, jitter: 0.1 } } }),
        ],
      }).compile(),
    ).rejects.toThrow(
      /dispatch\.retry\.retryIf: expected a function[\s\S]*dispatch\.retry\.jitter: has no effect with a dispatch\.retry\.backoff function/,
    );
  });
});
