import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import amqplib from 'amqplib';
import {
  MessageQueue,
  MessagingModule,
  OutboxAdmin,
  type DispatchOptions,
  type OutboxEntry,
  type OutboxStatus,
} from 'nestjs-messaging';
import { AmqpMessenger, type AmqpMessengerOptions } from 'nestjs-messaging/amqp';
import {
  brokers,
  consume,
  consumeUntilIdle,
  declareTopicQueue,
  lockProjectNode,
  projectNodeEval,
} from './support/brokers.js';

// Built-in classification of AmqpMessenger's failures on real RabbitMQ 3.10 (AMQP 1.0 plugin): a message
// over max_message_size and an address the broker refuses are dead at once with the broker's reason; a
// full queue (which RabbitMQ 3.10 answers by dropping the connection) is retried, not counted.
Logger.overrideLogger(['error']);

const { project, shared } = brokers();
const DEFAULT_MAX_MESSAGE_SIZE = 134_217_728;

const opened: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((moduleRef) => moduleRef.close()));
});

async function start(
  messenger: Partial<AmqpMessengerOptions>,
  dispatch: DispatchOptions = {},
): Promise<{ queue: MessageQueue; admin: OutboxAdmin }> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      MessagingModule.forRoot({
        messenger: new AmqpMessenger({
          urls: [shared.url],
          username: 'guest',
          password: 'guest',
          reconnectDelayMs: 100,
          reconnectDelayMaxMs: 500,
          ...messenger,
        }),
        // Retried messages would wait a minute: anything settled within the test was not retried.
        dispatch: { pollIntervalMs: 50, busProbeIntervalMs: 200, retry: { initialDelayMs: 60_000 }, ...dispatch },
      }),
    ],
  }).compile();
  opened.push(moduleRef);
  await moduleRef.init();
  return { queue: moduleRef.get(MessageQueue), admin: moduleRef.get(OutboxAdmin) };
}

/** Polls the outbox (every 20 ms, for at most `timeoutMs`) until `ready` holds for its entries of `status`. */
async function entriesWhen(
  admin: OutboxAdmin,
  status: OutboxStatus,
  ready: (entries: OutboxEntry[]) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<OutboxEntry[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const entries = await admin.list({ status });
    if (ready(entries)) return entries;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(entries)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('AmqpMessenger failure classification on RabbitMQ', () => {
  it("a message over the broker's max_message_size is dead after one attempt, with the broker's reason; the others are delivered", async () => {
    const unlock = await lockProjectNode();
    try {
      await declareTopicQueue(project.url, 'h17-fail-size', 'h17.size');
      await projectNodeEval('application:set_env(rabbit, max_message_size, 4096).');
      const { queue, admin } = await start({ urls: [project.url], address: '/topic/{topic}' });
      await queue.run(() => {
        queue.add('h17.size', { n: 1 });
        queue.add('h17.size', { n: 2, padding: 'x'.repeat(10_000) });
        queue.add('h17.size', { n: 3 });
      });
      const [dead] = await entriesWhen(admin, 'dead', (entries) => entries.length === 1, 'the big one dead');
      expect(dead.message.body.n).toBe(2);
      expect(dead).toMatchObject({ attempts: 1, deadReason: 'rejected' });
      expect(dead.history).toEqual([expect.objectContaining({ messenger: 'AmqpMessenger', counted: true })]);
      expect(dead.lastError).toMatch(
        /^link-refused amqp:precondition-failed: PRECONDITION_FAILED - message size 10\d+ is larger than configured max size 4096$/,
      );
      // The third, in flight when the broker ended the link over the second, went back in line uncounted.
      // So may the first: RabbitMQ can end the link before that message's settlement leaves it, though
      // the queue has it, and at-least-once then sends it again. Never the second; the others in order.
      const received = await consumeUntilIdle(project.url, 'h17-fail-size', 3000, 30_000);
      const numbers = received.map(({ body }) => (JSON.parse(body as string) as { n: number }).n);
      expect([...new Set(numbers)]).toEqual([1, 3]);
      expect((await admin.stats()).sinceStart).toMatchObject({ delivered: 2, dead: 1, failedAttempts: 1 });
    } finally {
      await projectNodeEval(`application:set_env(rabbit, max_message_size, ${DEFAULT_MAX_MESSAGE_SIZE}).`);
      unlock();
    }
  }, 60_000);

  it("an address the broker refuses (no such exchange) is dead after one attempt, with the broker's reason", async () => {
    const { queue, admin } = await start({ address: '/exchange/{topic}/key' });
    await queue.run(() => {
      queue.add('h17-no-such-exchange', { n: 1 });
    });
    const [dead] = await entriesWhen(admin, 'dead', (entries) => entries.length === 1, 'the message dead');
    expect(dead).toMatchObject({ attempts: 1, deadReason: 'rejected' });
    expect(dead.lastError).toBe(
      "address-refused amqp:not-found: NOT_FOUND - no exchange 'h17-no-such-exchange' in vhost '/'",
    );
  }, 30_000);

  it('a full queue (x-overflow reject-publish) is retried without counting attempts, and delivered once there is room', async () => {
    const name = 'h17-fail-full';
    const connection = await amqplib.connect(`amqp://guest:guest@${new URL(shared.url).host}`);
    try {
      const channel = await connection.createChannel();
      await channel.deleteQueue(name);
      await channel.assertQueue(name, { arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish' } });
    } finally {
      await connection.close();
    }
    // One attempt allowed: a counted failure would make the third message dead at once.
    const { queue, admin } = await start(
      { address: '/amq/queue/{topic}' },
      { batchSize: 1, retry: { initialDelayMs: 100, maxAttempts: 1 } },
    );
    await queue.run(() => {
      for (const n of [1, 2, 3]) queue.add(name, { n });
    });
    const [waiting] = await entriesWhen(
      admin,
      'pending',
      (entries) => entries.length === 1 && entries[0].lastError !== undefined,
      'the third refused',
    );
    expect(waiting).toMatchObject({ attempts: 0, message: { body: { n: 3 } } });
    expect(waiting.history.every(({ counted }) => !counted)).toBe(true);
    // RabbitMQ 3.10's AMQP 1.0 plugin drops the connection on the queue's refusal: an outage, not the message's fault.
    expect(waiting.lastError).toMatch(/^connection-lost: /);
    const received = await consume(shared.url, name, 3, 20_000);
    expect(received.map(({ body }) => (JSON.parse(body as string) as { n: number }).n)).toEqual([1, 2, 3]);
    await entriesWhen(admin, 'pending', (entries) => entries.length === 0, 'nothing pending');
    expect((await admin.stats()).sinceStart).toMatchObject({ delivered: 3, dead: 0, failedAttempts: 0 });
  }, 60_000);
});
