import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { createMessage, MessengerUnavailableError, MessagingOptionsError, type Message } from 'nestjs-messaging';
import {
  FedoraMessagingMessenger,
  FedoraMessagingSendError,
  type FedoraMessagingMessengerOptions,
} from 'nestjs-messaging/fedora-messaging';
import { closedPort } from './support/amqp-listener.js';
import { brokers } from './support/brokers.js';
import { FedoraMessagingConsumer, sharedNodeCtl } from './support/fedora-messaging-consumer.js';
import { waitFor } from './support/wait-for.js';

Logger.overrideLogger(['error']);

const shared = (): string => {
  const { url, username, password } = brokers().shared;
  return url.replace('amqp://', `amqp://${username}:${password}@`);
};

describe('FedoraMessagingMessenger against RabbitMQ (the shared node, AMQP 0-9-1)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function started(options: Partial<FedoraMessagingMessengerOptions> = {}): Promise<FedoraMessagingMessenger> {
    const messenger = new FedoraMessagingMessenger({ urls: [shared()], app: 'e2e', sendTimeoutMs: 5000, ...options });
    await messenger.onModuleInit();
    cleanups.push(() => messenger.onApplicationShutdown());
    return messenger;
  }

  async function consumer(bindingKey: string): Promise<FedoraMessagingConsumer> {
    const reading = await new FedoraMessagingConsumer().start(shared(), bindingKey);
    cleanups.push(() => reading.close());
    return reading;
  }

  it('puts the exact fedora-messaging wire format on amq.topic: properties, headers and body, field by field', async () => {
    const prefix = `org.test${randomUUID().slice(0, 8)}.prod`;
    const reading = await consumer(`${prefix}.#`);
    const plain = createMessage(
      '.compose.created',
      { author: 'alice', n: 1, text: 'é 🚢' },
      { headers: { request_id: 'r-1' } },
    );
    const failed = createMessage('.compose.failed', { author: 'bob', nested: { a: [1, null] } });
    const debug = createMessage(
      '.compose.created',
      { author: 'carol' },
      { headers: { fedora_messaging_severity: 10 } },
    );
    const prefixed = await started({
      topicPrefix: `${prefix}.`, // the trailing dot is dropped, as fedora-messaging does
      schema: 'pdc.message',
      topics: { 'compose.failed': { schema: 'pdc.compose.failed', schemaPackage: 'pdc_messages', severity: 40 } },
      priority: 3,
      filters: (message) => ({ user: [message.body.author as string], rpm: ['kernel', 'bash'] }),
    });
    const before = Math.floor(Date.now() / 1000) * 1000;
    await prefixed.send([plain, failed, debug]);
    await waitFor(() => reading.received.length === 3, 5000, 'three messages at the consumer');
    const [first, second, third] = reading.received;

    expect(first.fields).toMatchObject({ exchange: 'amq.topic', routingKey: `${prefix}.compose.created` });
    expect(first.properties).toMatchObject({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      messageId: plain.id,
      priority: 3,
    });
    expect(first.properties.messageId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const sentAt = String(first.properties.headers?.['sent-at']);
    expect(sentAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect(Date.parse(sentAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(sentAt)).toBeLessThanOrEqual(Date.now());
    expect(first.properties.headers).toEqual({
      fedora_messaging_schema: 'pdc.message',
      fedora_messaging_severity: 20,
      'sent-at': sentAt,
      priority: 3,
      fedora_messaging_user_alice: true,
      fedora_messaging_rpm_kernel: true,
      fedora_messaging_rpm_bash: true,
      request_id: 'r-1',
    });
    expect(first.content.toString('utf8')).toBe(JSON.stringify(plain.body));
    expect(JSON.parse(first.content.toString('utf8'))).toEqual({ author: 'alice', n: 1, text: 'é 🚢' });

    expect(second.fields.routingKey).toBe(`${prefix}.compose.failed`);
    expect(second.properties.headers).toMatchObject({
      fedora_messaging_schema: 'pdc.compose.failed',
      fedora_messaging_schema_package: 'pdc_messages',
      fedora_messaging_severity: 40,
      fedora_messaging_user_bob: true,
    });
    expect(JSON.parse(second.content.toString('utf8'))).toEqual({ author: 'bob', nested: { a: [1, null] } });

    expect(third.properties.headers).toMatchObject({
      fedora_messaging_severity: 10,
      fedora_messaging_user_carol: true,
    });
    expect(third.properties.headers).not.toHaveProperty('fedora_messaging_schema_package');
  });

  it('sets no priority property and no priority header unless priority is configured', async () => {
    const messenger = await started();
    const key = `fm${randomUUID().slice(0, 8)}`;
    const mine = await consumer(`${key}.#`);
    await messenger.send([createMessage(`.${key}.plain`, { a: 1 })]);
    await waitFor(() => mine.received.length === 1, 5000, 'the message');
    expect(mine.received[0].fields.routingKey).toBe(`${key}.plain`);
    expect(mine.received[0].properties.priority).toBeUndefined();
    expect(mine.received[0].properties.headers).not.toHaveProperty('priority');
  });

  it('fails a message no queue is bound for (mandatory, the default) and resolves it with mandatory off', async () => {
    const key = `fm${randomUUID().slice(0, 8)}`;
    const reading = await consumer(`${key}.routed`);
    const messenger = await started();
    const routed = createMessage(`.${key}.routed`, {});
    const unroutable = createMessage(`.${key}.nowhere`, {});
    const error = await messenger.send([routed, unroutable]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FedoraMessagingSendError);
    const { acceptedIds, failures, message } = error as FedoraMessagingSendError;
    expect(acceptedIds).toEqual([routed.id]);
    expect(failures).toEqual([
      expect.objectContaining({
        messageId: unroutable.id,
        outcome: 'returned',
        counted: true,
        retryable: false,
        routingKey: `${key}.nowhere`,
      }),
    ]);
    expect(failures[0].reply).toContain('312 NO_ROUTE');
    expect(message).toContain(unroutable.id);
    expect(message).toContain(`${key}.nowhere`);
    expect(message).toContain('amqp://guest:***@127.0.0.1:5672');
    await waitFor(() => reading.received.length === 1, 5000, 'the routed message');

    const lax = await started({ mandatory: false });
    await expect(lax.send([createMessage(`.${key}.nowhere`, {})])).resolves.toBeUndefined();
  });

  it('fails a message to a topic outside the permitted ones (set_topic_permissions) with the broker reason; the channel is re-opened', async () => {
    const id = randomUUID().slice(0, 8);
    const [vhost, user, password] = [`fm-vhost-${id}`, `fm-user-${id}`, `pw-${id}`];
    await sharedNodeCtl('add_vhost', vhost);
    cleanups.push(() => sharedNodeCtl('delete_vhost', vhost));
    await sharedNodeCtl('add_user', user, password);
    cleanups.push(() => sharedNodeCtl('delete_user', user));
    await sharedNodeCtl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
    await sharedNodeCtl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
    await sharedNodeCtl('set_topic_permissions', '-p', vhost, user, 'amq.topic', '^org\\.allowed\\..*', '.*');
    const url = `amqp://${user}:${password}@127.0.0.1:5672/${vhost}`;
    const reading = await new FedoraMessagingConsumer().start(`amqp://guest:guest@127.0.0.1:5672/${vhost}`, 'org.#');
    cleanups.push(() => reading.close());
    const messenger = await started({ urls: [url], topicPrefix: 'org' });
    const allowed = createMessage('.allowed.one', {});
    const forbidden = createMessage('.forbidden.two', {});
    const error = await messenger.send([allowed, forbidden]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FedoraMessagingSendError);
    const { failures, acceptedIds, message } = error as FedoraMessagingSendError;
    const refusal = failures.find(({ messageId }) => messageId === forbidden.id);
    expect(refusal).toMatchObject({
      outcome: 'channel-closed',
      counted: true,
      retryable: false,
      routingKey: 'org.forbidden.two',
    });
    expect(refusal?.reply).toMatch(/403.*ACCESS_REFUSED.*access to topic 'org\.forbidden\.two'/);
    expect(acceptedIds.concat(failures.map(({ messageId }) => messageId)).sort()).toEqual(
      [allowed.id, forbidden.id].sort(),
    );
    expect(message).toContain(`amqp://${user}:***@127.0.0.1:5672/${vhost}`);
    expect(message).not.toContain(password);
    // A new channel: the next batch goes through.
    const later = createMessage('.allowed.three', {});
    await expect(messenger.send([later])).resolves.toBeUndefined();
    await waitFor(() => reading.ids().includes(later.id), 5000, 'the later message');
    expect(reading.ids()).not.toContain(forbidden.id);
    expect(messenger.state.status).toBe('connected');
  });

  it('reports a wrong password as state refused with the broker reason; send() rejects without counting', async () => {
    const messenger = await started({ urls: ['amqp://guest:wrong@127.0.0.1:5672'] });
    const error = await messenger.send([createMessage('.a', {})]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MessengerUnavailableError);
    expect(messenger.state).toMatchObject({
      status: 'refused',
      condition: '403',
      url: 'amqp://guest:***@127.0.0.1:5672',
    });
    expect(messenger.state.reason).toContain('ACCESS_REFUSED');
    expect((error as Error).message).not.toContain('wrong');
  });

  it('reports an unreachable broker as MessengerUnavailableError and state reconnecting, trying every URL', async () => {
    const [one, two] = [await closedPort(), await closedPort()];
    const messenger = await started({ urls: [one, two], reconnectDelayMs: 60_000 });
    const error = await messenger.send([createMessage('.a', {})]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MessengerUnavailableError);
    expect((error as Error).message).toContain(one);
    expect((error as Error).message).toContain(two);
    expect(messenger.state.status).toBe('reconnecting');
  });

  it('fails over to the next URL', async () => {
    const key = `fm${randomUUID().slice(0, 8)}`;
    const reading = await consumer(`${key}.#`);
    const messenger = await started({ urls: [await closedPort(), shared()] });
    const message: Message = createMessage(`.${key}.x`, {});
    await expect(messenger.send([message])).resolves.toBeUndefined();
    expect(messenger.state).toMatchObject({ status: 'connected', url: 'amqp://guest:***@127.0.0.1:5672' });
    await waitFor(() => reading.ids().includes(message.id), 5000, 'the message');
  });

  it('refuses at start-up, naming the option, what consumers would drop or what cannot connect', () => {
    const build = (options: Partial<FedoraMessagingMessengerOptions>) => () =>
      new FedoraMessagingMessenger({ urls: [shared()], app: 'x', ...options });
    expect(build({ severity: 25 as 20 })).toThrow(/severity: expected 10, 20, 30 or 40/);
    expect(build({ app: ' ' })).toThrow(/app: expected the application's name/);
    expect(build({ urls: ['http://x'] })).toThrow(/urls\[0\]: "http:\/\/x" is not an amqp/);
    expect(build({ topics: { '.a': { severity: 50 as 40 } } })).toThrow(/topics\["\.a"\]\.severity/);
    expect(build({ priority: 300 })).toThrow(/priority: expected a whole number from 0 to 255/);
    expect(build({ certificate: '/nonexistent.pem' })).toThrow(MessagingOptionsError);
  });
});
