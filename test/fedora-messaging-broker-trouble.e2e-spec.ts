import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import amqplib from 'amqplib';
import { createMessage, MessengerUnavailableError, type Message } from 'nestjs-messaging';
import { FedoraMessagingMessenger, FedoraMessagingSendError } from 'nestjs-messaging/fedora-messaging';
import { brokers, lockProjectNode, projectNode, projectNodeEval } from './support/brokers.js';
import { sharedNodeCtl } from './support/fedora-messaging-consumer.js';
import { waitFor } from './support/wait-for.js';

Logger.overrideLogger(['error']);

const { shared, project } = brokers();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(url: string, options: { topicPrefix?: string }): Promise<FedoraMessagingMessenger> {
  const messenger = new FedoraMessagingMessenger({
    urls: [url],
    app: 'e2e',
    mandatory: false,
    sendTimeoutMs: 5000,
    ...options,
  });
  await messenger.onModuleInit();
  cleanups.push(() => messenger.onApplicationShutdown());
  return messenger;
}

describe('FedoraMessagingMessenger when the broker closes the channel with confirms out of order', () => {
  it('settles every message at once when the channel closes: caught-up messages not counted, the refused one counted', async () => {
    const id = randomUUID().slice(0, 8);
    const [vhost, user, password] = [`fm-ooo-${id}`, `fm-ooo-${id}`, `pw-${id}`];
    await sharedNodeCtl('add_vhost', vhost);
    cleanups.push(() => sharedNodeCtl('delete_vhost', vhost));
    await sharedNodeCtl('add_user', user, password);
    cleanups.push(() => sharedNodeCtl('delete_user', user));
    await sharedNodeCtl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
    await sharedNodeCtl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
    await sharedNodeCtl('set_topic_permissions', '-p', vhost, user, 'amq.topic', '^org\\.allowed\\..*', '.*');
    const host = new URL(shared.url).host;
    const admin = await amqplib.connect(`amqp://${shared.username}:${shared.password}@${host}/${vhost}`);
    cleanups.push(() => admin.close());
    const channel = await admin.createChannel();
    await channel.assertQueue('kept', { durable: true });
    await channel.bindQueue('kept', 'amq.topic', 'org.allowed.kept');
    const messenger = await started(`amqp://${user}:${password}@${host}/${vhost}`, { topicPrefix: 'org' });

    // Persistent messages to a durable queue are confirmed after the disk write; unroutable ones
    // (mandatory off) at once: confirms come back out of order, then the refused topic closes the channel.
    const batch: Message[] = [];
    for (let i = 0; i < 20; i++)
      batch.push(
        createMessage('.allowed.kept', { i, pad: 'x'.repeat(5000) }),
        createMessage('.allowed.nowhere', { i }),
      );
    const forbidden = createMessage('.forbidden.x', {});
    batch.push(forbidden);
    const error = await messenger.send(batch).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(FedoraMessagingSendError);
    const { failures, acceptedIds } = error as FedoraMessagingSendError;
    expect(failures.filter(({ outcome }) => outcome === 'timeout')).toEqual([]);
    expect(failures.find(({ messageId }) => messageId === forbidden.id)).toMatchObject({
      outcome: 'channel-closed',
      counted: true,
      retryable: false,
    });
    expect(failures.find(({ messageId }) => messageId === forbidden.id)?.reply).toMatch(/403.*ACCESS_REFUSED/);
    for (const failure of failures.filter(({ messageId }) => messageId !== forbidden.id)) {
      expect(failure).toMatchObject({ outcome: 'channel-closed', counted: false });
      expect(failure).not.toHaveProperty('retryable');
    }
    expect(acceptedIds.length + failures.length).toBe(batch.length);
    // Every id reported accepted was confirmed, so already in the durable queue (others may be there too).
    const keptAccepted = batch.filter(({ id, topic }) => topic === '.allowed.kept' && acceptedIds.includes(id));
    expect((await channel.checkQueue('kept')).messageCount).toBeGreaterThanOrEqual(keptAccepted.length);
  }, 60_000);
});

describe('FedoraMessagingMessenger with a message amqplib cannot encode', () => {
  it('fails that message as invalid (counted) and keeps every later confirm on its own message', async () => {
    const host = new URL(shared.url).host;
    const messenger = await started(`amqp://${shared.username}:${shared.password}@${host}`, {});
    const bad = createMessage('.trouble.bad', {}, { headers: { ['h'.repeat(300)]: 1 } });
    const error = await messenger
      .send([bad, createMessage('.trouble.good', {})])
      .catch((caught: unknown) => caught as FedoraMessagingSendError);
    expect(error).toBeInstanceOf(FedoraMessagingSendError);
    expect((error as FedoraMessagingSendError).failures).toEqual([
      expect.objectContaining({ messageId: bad.id, outcome: 'invalid', counted: true, retryable: false }),
    ]);
    // Confirms still match their messages: later sends resolve (no confirm slot left behind by the bad one).
    await expect(messenger.send([createMessage('.trouble.a', {})])).resolves.toBeUndefined();
    await expect(
      messenger.send([createMessage('.trouble.b', {}), createMessage('.trouble.c', {})]),
    ).resolves.toBeUndefined();
  }, 60_000);
});

describe('FedoraMessagingMessenger when the broker blocks the connection (memory alarm, project node)', () => {
  let unlock: (() => void) | undefined;
  beforeAll(async () => {
    unlock = await lockProjectNode();
    await projectNode('start');
  }, 120_000);
  afterAll(async () => {
    await projectNodeEval('vm_memory_monitor:set_vm_memory_high_watermark(0.4).');
    unlock?.();
  });

  it('counts no attempt while the broker blocks the connection, says why, refuses sends until it unblocks', async () => {
    const messenger = new FedoraMessagingMessenger({
      urls: [project.url.replace('amqp://', `amqp://${project.username}:${project.password}@`)],
      app: 'e2e',
      mandatory: false,
      sendTimeoutMs: 3000,
    });
    await messenger.onModuleInit();
    cleanups.push(() => messenger.onApplicationShutdown());
    await messenger.send([createMessage('.blocked.before', {})]);
    try {
      await projectNodeEval('vm_memory_monitor:set_vm_memory_high_watermark(0.0).');
      // RabbitMQ blocks a connection when it next publishes: that batch gets no confirm while blocked.
      const inFlight = await messenger
        .send([createMessage('.blocked.inflight', {})])
        .catch((caught: unknown) => caught);
      expect(inFlight).toBeInstanceOf(FedoraMessagingSendError);
      const { failures, unavailable } = inFlight as FedoraMessagingSendError;
      expect(failures).toEqual([expect.objectContaining({ outcome: 'timeout', counted: false })]);
      expect(failures[0]).not.toHaveProperty('retryable');
      expect(failures[0].reply).toContain('low on memory');
      expect(unavailable).toContain('low on memory');
      expect(messenger.state).toMatchObject({ status: 'reconnecting', condition: 'blocked' });
      expect(messenger.state.reason).toContain('low on memory');
      // Then send() is refused at once (nothing counted), naming the broker's reason.
      const refused = await messenger.send([createMessage('.blocked.during', {})]).catch((caught: unknown) => caught);
      expect(refused).toBeInstanceOf(MessengerUnavailableError);
      expect((refused as Error).message).toContain('low on memory');
    } finally {
      await projectNodeEval('vm_memory_monitor:set_vm_memory_high_watermark(0.4).');
    }
    await waitFor(() => messenger.state.status === 'connected', 10_000, 'the messenger to see connection.unblocked');
    await expect(messenger.send([createMessage('.blocked.after', {})])).resolves.toBeUndefined();
  }, 60_000);
});
