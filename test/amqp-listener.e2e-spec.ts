import { Logger } from '@nestjs/common';
import { createMessage, MessengerSendError, type Message } from 'nestjs-messaging';
import { AmqpMessenger } from 'nestjs-messaging/amqp';
import { closedPort, silentPort } from './support/amqp-listener.js';
import { amqpPeerFixtures, sendError } from './support/amqp-peer-fixtures.js';

Logger.overrideLogger(['error']);

const { listener, messenger, onCleanup } = amqpPeerFixtures();

describe('AmqpMessenger against an in-process AMQP 1.0 listener', () => {
  it("uses ActiveMQ's topic://<prefix><topic> address by default and maps every field", async () => {
    const { broker, url } = await listener();
    const amqp = await messenger({ urls: [url], topicPrefix: 'VirtualTopic.eng.pdc' });
    const message = createMessage(
      '.releases.added',
      { new_value: { release_id: 'f-41', active: true }, url: 'https://pdc/r/f-41', author: 'alice', comment: null },
      { headers: { priority: 4 } },
    );
    await amqp.send([message]);
    expect(broker.attaches).toEqual(['topic://VirtualTopic.eng.pdc.releases.added']);
    const { message: received } = broker.received[0];
    expect(received.durable).toBe(true);
    expect(received.message_id).toBe(message.id);
    expect(received.content_type).toBe('application/json');
    expect((received.creation_time as Date).getTime()).toBe(message.timestamp);
    expect(JSON.parse(received.body as string)).toEqual(message.body);
    expect(received.application_properties).toEqual({
      url: 'https://pdc/r/f-41',
      author: 'alice',
      comment: null,
      'DATA:release_id': 'f-41',
      'DATA:active': true,
      priority: 4,
    });
  });

  it('sends consecutive messages of one topic on one link, in order per topic, and reuses links across batches', async () => {
    const { broker, url } = await listener();
    const amqp = await messenger({ urls: [url], address: '/topic/{prefix}{topic}' });
    const batch: Message[] = [
      createMessage('.a', { n: 1 }),
      createMessage('.a', { n: 2 }),
      createMessage('.b', { n: 3 }),
      createMessage('.a', { n: 4 }),
    ];
    await amqp.send(batch);
    await amqp.send([createMessage('.b', { n: 5 })]);
    expect(broker.attaches).toEqual(['/topic/.a', '/topic/.b']);
    const numbersOn = (address: string) =>
      broker.received
        .filter((received) => received.address === address)
        .map(({ message, link }) => [link, JSON.parse(message.body as string).n]);
    // One link per address (1 for .a, 2 for .b), in order on each; the links run side by side.
    expect(numbersOn('/topic/.a')).toEqual([
      [1, 1],
      [1, 2],
      [1, 4],
    ]);
    expect(numbersOn('/topic/.b')).toEqual([
      [2, 3],
      [2, 5],
    ]);
  });

  it('keeps a topic in order across batches sent concurrently, while their links are still attaching', async () => {
    const { broker, url } = await listener();
    const amqp = await messenger({ urls: [url], address: '/topic/{prefix}{topic}' });
    // The first batch opens .a before .b; the second batch has only .b. Before the fix, the second
    // batch's .b message went out while the first batch still waited for .a's link.
    await Promise.all([
      amqp.send([createMessage('.a', { n: 1 }), createMessage('.b', { n: 2 })]),
      amqp.send([createMessage('.b', { n: 3 })]),
      amqp.send([createMessage('.c', { n: 4 }), createMessage('.b', { n: 5 })]),
    ]);
    const numbersOn = (address: string) =>
      broker.received
        .filter((received) => received.address === address)
        .map(({ message }) => JSON.parse(message.body as string).n);
    expect(numbersOn('/topic/.b')).toEqual([2, 3, 5]);
  });

  it.each([
    ['reject', 'rejected', 'amqp:precondition-failed', 'test broker says no'],
    ['release', 'released', undefined, 'the broker released the message'],
    ['modify', 'modified', undefined, 'the broker modified the message'],
  ] as const)(
    'rejects send() when the broker says %s, naming topic, id, URL and condition',
    async (disposition, outcome, condition, description) => {
      const { broker, url } = await listener();
      broker.decide = ({ message }) => (JSON.parse(message.body as string).n === 2 ? disposition : 'accept');
      const amqp = await messenger({ urls: [url] });
      const batch = [createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 }), createMessage('.a', { n: 3 })];
      const error = await sendError(amqp.send(batch));
      expect(error.url).toBe(url);
      expect(error.acceptedIds).toEqual([batch[0].id, batch[2].id]);
      expect(error.failures).toEqual([
        {
          messageId: batch[1].id,
          topic: '.a',
          address: 'topic://.a',
          outcome,
          condition,
          description,
          reason: `${outcome}${condition ? ` ${condition}` : ''}: ${description}`,
          counted: true,
          // amqp:precondition-failed is permanent: dead at once; released and modified are retried.
          retryable: condition === undefined ? undefined : false,
        },
      ]);
      expect(error).toBeInstanceOf(MessengerSendError);
      expect(error.unavailable).toBeUndefined();
      expect(error.message).toContain(`message ${batch[1].id} on topic ".a"`);
      expect(error.message).toContain(url);
      expect(error.message).toContain(outcome);
    },
  );

  it('when the broker ends the link over one message, blames that one and marks the others in flight link-detached', async () => {
    const { broker, url } = await listener();
    broker.decide = ({ message }) => (JSON.parse(message.body as string).n === 2 ? 'end-session' : 'accept');
    const amqp = await messenger({ urls: [url] });
    const batch = [1, 2, 3, 4].map((n) => createMessage('.a', { n }));
    const error = await sendError(amqp.send(batch));
    expect(error.acceptedIds).toEqual([batch[0].id]);
    expect(error.failures.map(({ messageId, outcome, condition }) => ({ messageId, outcome, condition }))).toEqual([
      { messageId: batch[1].id, outcome: 'link-refused', condition: 'amqp:precondition-failed' },
      { messageId: batch[2].id, outcome: 'link-detached', condition: undefined },
      { messageId: batch[3].id, outcome: 'link-detached', condition: undefined },
    ]);
    expect(error.failures[1].description).toContain('over another message');
    // Only the message the broker ended the link over counts; the others were collateral.
    expect(error.failures.map(({ counted }) => counted)).toEqual([true, false, false]);
  });

  it('rejects send() when the broker does not settle within sendTimeoutMs', async () => {
    const { broker, url } = await listener();
    broker.decide = () => 'ignore';
    const amqp = await messenger({ urls: [url], sendTimeoutMs: 300 });
    const started = Date.now();
    const error = await sendError(amqp.send([createMessage('.a', {})]));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.failures[0]).toMatchObject({
      outcome: 'timeout',
      description: 'the broker did not settle it within 300 ms',
    });
  });

  it('reports a link the broker refuses as refused, with its condition, not as a timeout', async () => {
    const { broker, url } = await listener();
    broker.unknownAddresses.add('topic://nope');
    const amqp = await messenger({ urls: [url], sendTimeoutMs: 5000 });
    const started = Date.now();
    const error = await sendError(amqp.send([createMessage('nope', {}), createMessage('.fine', {})]));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.failures).toEqual([
      expect.objectContaining({
        outcome: 'address-refused',
        counted: false,
        condition: 'amqp:not-found',
        description: 'no such address: topic://nope',
      }),
    ]);
    expect(error.acceptedIds).toHaveLength(1);
  });

  it('fails over from a closed port and from a broker that never answers, within connectionTimeout', async () => {
    const { broker, url } = await listener();
    const silent = await silentPort();
    onCleanup(silent.close);
    const closed = await closedPort();
    const amqp = await messenger({ urls: [silent.url, closed, url], connectionTimeout: 1 });
    const started = Date.now();
    await amqp.send([createMessage('.a', {})]);
    expect(Date.now() - started).toBeLessThan(1000 + 500);
    expect(amqp.connectedTo).toBe(url);
    expect(broker.received).toHaveLength(1);
  });

  it('rejects with every URL and its reason when no broker opens', async () => {
    const silent = await silentPort();
    onCleanup(silent.close);
    const closed = await closedPort();
    const amqp = await messenger({ urls: [silent.url, closed], connectionTimeout: 0.5 });
    await expect(amqp.send([createMessage('.a', {})])).rejects.toThrow(
      expect.objectContaining({
        name: 'AmqpConnectionError',
        attempts: expect.arrayContaining([
          { url: silent.url, reason: 'no AMQP connection opened within 0.5 s' },
          { url: closed, reason: expect.stringContaining('ECONNREFUSED') },
        ]),
      }),
    );
  });

  it('lets sends in flight settle on shutdown, then closes', async () => {
    const { broker, url } = await listener();
    broker.settleDelayMs = 300;
    const amqp = new AmqpMessenger({ urls: [url] });
    await amqp.onModuleInit();
    const sending = amqp.send([createMessage('.a', {}), createMessage('.a', {})]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await amqp.onApplicationShutdown();
    await expect(sending).resolves.toBeUndefined();
    await expect(amqp.send([createMessage('.a', {})])).rejects.toThrow('shutting down');
  });

  it('refuses plain amqp:// with certificates, and a missing certificate file, at start-up', () => {
    expect(() => new AmqpMessenger({ urls: ['amqp://broker:5672'], caCertificate: '/nonexistent/ca.crt' })).toThrow(
      'caCertificate: cannot read /nonexistent/ca.crt',
    );
    expect(() => new AmqpMessenger({ urls: ['http://broker'], connectionTimeout: 0 })).toThrow(
      /urls\[0\]: "http:\/\/broker" is not an amqp:\/\/ or amqps:\/\/ URL[\s\S]*connectionTimeout: expected a number of seconds > 0/,
    );
  });
});
