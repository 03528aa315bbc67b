import { hostname } from 'node:os';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  createMessage,
  MemoryOutboxStore,
  MessageQueue,
  MessagingModule,
  MessengerUnavailableError,
  OutboxAdmin,
  OutboxFullError,
  OutboxWriteError,
  type Message,
  type MessagingModuleOptions,
  type Messenger,
  type OutboxStore,
} from 'nestjs-messaging';
import { AmqpSendError } from 'nestjs-messaging/amqp';
import { RecordingLogger, startApp } from './support/http-app.js';
import { OneMessageController } from './support/one-message.controller.js';
import { waitFor } from './support/wait-for.js';

/** A messenger whose behaviour each test scripts; records every batch it was given. */
class ScriptedMessenger implements Messenger {
  readonly batches: (readonly Message[])[] = [];
  readonly delivered: Message[] = [];
  behaviour: (messages: readonly Message[]) => Promise<readonly string[] | undefined> = () =>
    Promise.resolve(undefined);

  async send(messages: readonly Message[]): Promise<void> {
    this.batches.push(messages);
    const rejectedIds = await this.behaviour(messages);
    const rejected = new Set(rejectedIds ?? []);
    const accepted = messages.filter(({ id }) => !rejected.has(id));
    this.delivered.push(...accepted);
    if (rejected.size > 0) {
      throw new AmqpSendError(
        'amqp://test',
        messages
          .filter(({ id }) => rejected.has(id))
          .map(({ id, topic }) => ({
            messageId: id,
            topic,
            address: `/topic/${topic}`,
            outcome: 'rejected' as const,
            // Retried (a full queue): a permanent condition would make the message dead at once.
            condition: 'amqp:resource-limit-exceeded',
            description: 'queue is full',
          })),
        accepted.map(({ id }) => id),
      );
    }
  }
}

interface Running {
  readonly moduleRef: TestingModule;
  readonly queue: MessageQueue;
  readonly admin: OutboxAdmin;
  readonly logs: RecordingLogger;
}

async function start(messenger: Messenger, options: Omit<MessagingModuleOptions, 'messenger'> = {}): Promise<Running> {
  const moduleRef = await Test.createTestingModule({
    imports: [MessagingModule.forRoot({ messenger, ...options })],
  }).compile();
  const logs = new RecordingLogger();
  moduleRef.useLogger(logs);
  await moduleRef.init();
  return { moduleRef, queue: moduleRef.get(MessageQueue), admin: moduleRef.get(OutboxAdmin), logs };
}

const FAST_RETRY = { initialDelayMs: 20, multiplier: 2, jitter: 0, maxAttempts: 3 };

describe('the outbox dispatcher', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.moduleRef.close();
    running = undefined;
  });

  it('delivers every message once, in acceptance order per topic, across many requests and batches', async () => {
    const messenger = new ScriptedMessenger();
    messenger.behaviour = () =>
      new Promise((resolve) =>
        setTimeout(() => {
          resolve(undefined);
        }, 2),
      );
    running = await start(messenger, { dispatch: { batchSize: 7 } });
    const { queue } = running;
    await Promise.all(
      Array.from({ length: 150 }, (_, n) =>
        queue.run(() => {
          queue.add('.a', { n });
          queue.add('.b', { n });
        }),
      ),
    );
    await waitFor(() => messenger.delivered.length >= 300, 5000, '300 deliveries');
    for (const topic of ['.a', '.b']) {
      const order = messenger.delivered.filter((message) => message.topic === topic).map(({ body }) => body.n);
      expect(order).toEqual(Array.from({ length: 150 }, (_, n) => n));
    }
    expect(messenger.batches.every((batch) => batch.length <= 7)).toBe(true);
    expect(await running.admin.stats()).toMatchObject({
      stored: { pending: 0, delivered: 0, dead: 0 },
      sinceStart: { accepted: 300, delivered: 300, failedAttempts: 0, dead: 0, refused: 0 },
    });
  });

  it('retries a refused message with backoff while others flow, declares it dead after its attempts, and requeue() brings it back', async () => {
    const messenger = new ScriptedMessenger();
    let poisonous = true;
    messenger.behaviour = (messages) =>
      Promise.resolve(poisonous ? messages.filter(({ body }) => body.poison === true).map(({ id }) => id) : undefined);
    running = await start(messenger, { dispatch: { retry: FAST_RETRY } });
    const { queue, admin, logs } = running;
    const poison = await queue.run(() => queue.add('.bad', { poison: true }));
    await queue.run(() => queue.add('.good', { n: 1 }));
    await queue.run(() => queue.add('.good', { n: 2 }));
    await waitFor(() => logs.linesAt('error').length === 1, 5000, 'the message to go dead');
    expect(messenger.delivered.map(({ body }) => body.n)).toEqual([1, 2]);
    const attemptsOfPoison = messenger.batches.filter((batch) => batch.some(({ id }) => id === poison.id));
    expect(attemptsOfPoison).toHaveLength(3);
    const warnings = logs.linesAt('warn');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(`[ids: ${poison.id}] failed (attempt 1); next attempt at`);
    expect(warnings[1]).toContain('failed (attempt 2)');
    expect(warnings[1]).toContain('rejected amqp:resource-limit-exceeded: queue is full');
    expect(logs.linesAt('error')[0]).toContain(
      `Gave up on 1 message(s) [topics: .bad x1] [ids: ${poison.id}] after 3 attempt(s)`,
    );
    const [dead] = await admin.list({ status: 'dead' });
    expect(dead).toMatchObject({ message: { id: poison.id }, attempts: 3, status: 'dead' });
    expect(dead.lastError).toBe('rejected amqp:resource-limit-exceeded: queue is full');

    poisonous = false;
    expect(await admin.requeue({ ids: [poison.id] })).toBe(1);
    await waitFor(() => messenger.delivered.some(({ id }) => id === poison.id), 2000, 'the retried message');
    expect((await admin.stats()).stored).toEqual({ pending: 0, delivered: 0, dead: 0 });
  });

  it('waits for its retry schedule: attempts 20 ms, then 40 ms apart', async () => {
    const messenger = new ScriptedMessenger();
    const attemptTimes: number[] = [];
    messenger.behaviour = (messages) => {
      attemptTimes.push(Date.now());
      return Promise.resolve(messages.map(({ id }) => id));
    };
    running = await start(messenger, { dispatch: { retry: FAST_RETRY } });
    const { queue, logs } = running;
    await queue.run(() => queue.add('.bad', {}));
    await waitFor(() => logs.linesAt('error').length === 1, 5000, 'the message to go dead');
    expect(attemptTimes).toHaveLength(3);
    expect(attemptTimes[1] - attemptTimes[0]).toBeGreaterThanOrEqual(20);
    expect(attemptTimes[2] - attemptTimes[1]).toBeGreaterThanOrEqual(40);
  });

  it('pauses while the bus is unreachable without using up attempts, logging once when it goes and once when it is back', async () => {
    const messenger = new ScriptedMessenger();
    let reachable = false;
    messenger.behaviour = () =>
      reachable ? Promise.resolve(undefined) : Promise.reject(new MessengerUnavailableError('connection refused'));
    running = await start(messenger, { dispatch: { retry: { ...FAST_RETRY, maxDelayMs: 40 } } });
    const { queue, admin, logs } = running;
    for (let n = 0; n < 20; n++) await queue.run(() => queue.add('.a', { n }));
    // Several probes while it is down (by progress, not a fixed sleep: a loaded machine probes later).
    await waitFor(() => messenger.batches.length > 3, 3000, 'four attempts while the bus is down');
    reachable = true;
    await waitFor(() => messenger.delivered.length === 20, 3000, '20 deliveries');
    expect(messenger.delivered.map(({ body }) => body.n)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(logs.linesAt('warn').filter((line) => line.includes('unreachable'))).toHaveLength(1);
    expect(logs.linesAt('log').filter((line) => line.includes('reachable again'))).toHaveLength(1);
    expect(logs.linesAt('error')).toEqual([]);
    expect((await admin.stats()).sinceStart).toMatchObject({ failedAttempts: 0, dead: 0, delivered: 20 });
  });

  it("at start, leaves another owner's lease alone until it expires, whatever its id names (no PID judgement)", async () => {
    const store = new MemoryOutboxStore();
    const held = createMessage('.a', { n: 1 });
    await store.append([held]);
    // An id naming this host and a PID no process has (beyond pid_max): not a proof the owner is gone.
    const claimedAt = Date.now();
    await store.claim({ owner: `${hostname()}-99999999-deadbeef`, limit: 1, now: claimedAt, leaseMs: 400 });
    const messenger = new ScriptedMessenger();
    let sentAt = 0;
    messenger.behaviour = () => {
      sentAt = Date.now();
      return Promise.resolve(undefined);
    };
    running = await start(messenger, { outbox: store });
    await waitFor(() => messenger.delivered.length === 1, 3000, 'the message, once its lease expired');
    expect(messenger.delivered.map(({ id }) => id)).toEqual([held.id]);
    expect(sentAt).toBeGreaterThanOrEqual(claimedAt + 400);
    expect(running.logs.linesAt('warn').filter((line) => line.includes('Took over'))).toEqual([]);
  });

  it('keeps delivered messages for retainDeliveredMs, then purges them', async () => {
    const messenger = new ScriptedMessenger();
    running = await start(messenger, { dispatch: { retainDeliveredMs: 200, pollIntervalMs: 50 } });
    const { queue, admin } = running;
    const kept = await queue.run(() => queue.add('.a', { n: 1 }));
    await waitFor(() => messenger.delivered.length === 1, 2000, 'the delivery');
    expect(await admin.list({ status: 'delivered' })).toMatchObject([
      { message: { id: kept.id }, status: 'delivered' },
    ]);
    const stored = async (): Promise<number> => (await admin.stats()).stored.delivered;
    const deadline = Date.now() + 3000;
    while ((await stored()) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await stored()).toBe(0);
  });

  it('while the bus stays unreachable, logs a summary every summaryIntervalMs instead of a line per attempt', async () => {
    const messenger = new ScriptedMessenger();
    messenger.behaviour = () => Promise.reject(new MessengerUnavailableError('connection refused'));
    running = await start(messenger, {
      dispatch: { summaryIntervalMs: 1000, retry: { initialDelayMs: 10, jitter: 0 }, busProbeIntervalMs: 50 },
    });
    const { queue, logs } = running;
    await queue.run(() => queue.add('.a', {}));
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(messenger.batches.length).toBeGreaterThan(10);
    const warnings = logs.linesAt('warn');
    expect(warnings.filter((line) => line.includes('The message bus is unreachable'))).toHaveLength(1);
    expect(warnings.filter((line) => line.startsWith('Outbox, last 1 s: 0 delivered'))).toHaveLength(1);
    expect(warnings.find((line) => line.startsWith('Outbox, last'))).toContain(
      'the bus has been unreachable for 1 s (connection refused)',
    );
  });

  it('delivers pending messages on a graceful shutdown', async () => {
    const messenger = new ScriptedMessenger();
    messenger.behaviour = () =>
      new Promise((resolve) =>
        setTimeout(() => {
          resolve(undefined);
        }, 20),
      );
    const current = await start(messenger, { dispatch: { batchSize: 50 } });
    const { queue } = current;
    await queue.run(() => {
      for (let n = 0; n < 1000; n++) queue.add('.a', { n });
    });
    await current.moduleRef.close();
    expect(messenger.delivered).toHaveLength(1000);
    expect(current.logs.linesAt('error')).toEqual([]);
  });

  it('at shutdown with the bus down, logs every id the memory outbox drops', async () => {
    const messenger = new ScriptedMessenger();
    messenger.behaviour = () => Promise.reject(new MessengerUnavailableError('down'));
    const current = await start(messenger, { shutdownTimeoutMs: 200 });
    const { queue } = current;
    const messages = await current.queue.run(() => [queue.add('.a', {}), queue.add('.b', {})]);
    await current.moduleRef.close();
    const [line] = current.logs.linesAt('error');
    expect(line).toContain('2 undelivered message(s) in the memory outbox; they are lost');
    for (const { id } of messages) expect(line).toContain(id);
  });

  it('refuses what the memory outbox cannot hold: logged once per summary, counted, and run() rejects', async () => {
    const messenger = new ScriptedMessenger();
    messenger.behaviour = () => Promise.reject(new MessengerUnavailableError('down'));
    running = await start(messenger, { outbox: new MemoryOutboxStore({ maxMessages: 2 }) });
    const { queue, admin, logs } = running;
    for (let n = 0; n < 2; n++) await expect(queue.run(() => queue.add('.a', { n }))).resolves.toBeDefined();
    for (let n = 2; n < 4; n++) await expect(queue.run(() => queue.add('.a', { n }))).rejects.toThrow(OutboxFullError);
    expect((await admin.stats()).sinceStart).toMatchObject({ accepted: 2, refused: 2 });
    const errors = logs.linesAt('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('the memory outbox is full (maxMessages 2)');
  });
});

describe('a durable outbox that cannot store', () => {
  it('fails the request with a 500 (its 2xx would promise a delivery), and run() rejects with OutboxWriteError', async () => {
    const broken: OutboxStore = Object.assign(new MemoryOutboxStore(), {
      durable: true,
      append: () => Promise.reject(new Error('disk I/O error')),
    });
    const running = await startApp('express', {
      imports: [MessagingModule.forRoot({ outbox: broken })],
      controllers: [OneMessageController],
    });
    try {
      expect((await running.request('POST', '/one')).status).toBe(500);
      expect(running.logs.linesAt('error').join('\n')).toContain('disk I/O error');
      const queue = running.app.get(MessageQueue);
      await expect(queue.run(() => queue.add('.job', {}))).rejects.toThrow(OutboxWriteError);
      // A store that throws instead of rejecting fails the same way.
      broken.append = () => {
        throw new Error('disk full');
      };
      expect((await running.request('POST', '/one')).status).toBe(500);
      await expect(queue.run(() => queue.add('.job', {}))).rejects.toThrow('disk full');
    } finally {
      await running.close();
    }
  });
});
