import { Logger } from '@nestjs/common';
import amqplib, { type ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { createMessage, type Message } from 'nestjs-messaging';
import { AMQP_ADDRESS, AmqpMessenger, type AmqpBodySection } from 'nestjs-messaging/amqp';
import { brokers } from './support/brokers.js';
import { waitFor } from './support/wait-for.js';

Logger.overrideLogger(['error']);

// What an AMQP 0-9-1 consumer (amqplib; fedora-messaging's consumers speak the same protocol) reads
// of the messages the AMQP 1.0 messenger sent through RabbitMQ's 1.0 → 0-9-1 conversion.
const { shared } = brokers();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A 0-9-1 consumer on an exclusive queue bound to amq.topic with `routingKey`; collects what arrives. */
async function consumer091(routingKey: string): Promise<ConsumeMessage[]> {
  const url = new URL(shared.url);
  const connection = await amqplib.connect(`amqp://${shared.username}:${shared.password}@${url.host}`);
  cleanups.push(() => connection.close());
  const channel = await connection.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, 'amq.topic', routingKey);
  const received: ConsumeMessage[] = [];
  await channel.consume(queue, (message) => received.push(message!), { noAck: true });
  return received;
}

/** Sends `bodies` as one batch through an AMQP 1.0 messenger with `body`, and reads them with a 0-9-1 consumer. */
async function roundTrip(body: AmqpBodySection, bodies: Message['body'][]) {
  const prefix = `interop.${randomUUID()}`;
  const received = await consumer091(`${prefix}.#`);
  const amqp = new AmqpMessenger({
    urls: [shared.url],
    username: shared.username,
    password: shared.password,
    address: AMQP_ADDRESS.rabbitmq3,
    topicPrefix: prefix,
    body,
  });
  await amqp.onModuleInit();
  cleanups.push(() => amqp.onApplicationShutdown());
  const messages = bodies.map((content) => createMessage('.compose', content, { headers: { author: 'alice' } }));
  await amqp.send(messages);
  await waitFor(() => received.length === messages.length, 10_000, `${messages.length} messages at the 0-9-1 consumer`);
  return { messages, received };
}

// Non-ASCII text, and a body past 255 bytes (AMQP's one-byte length prefixes end there).
const bodies: Message['body'][] = [
  { compose_id: 'Fedora-41-20261128.n.0', title: 'Žluťoučký kůň', n: 1 },
  { compose_id: 'Fedora-41-20261128.n.1', notes: 'x'.repeat(400), n: 2 },
];

describe('AMQP 1.0 bodies read by an AMQP 0-9-1 consumer behind RabbitMQ', () => {
  it('body "data": the exact UTF-8 JSON bytes, content_type application/json, content_encoding utf-8', async () => {
    const { messages, received } = await roundTrip('data', bodies);
    received.forEach((delivery, index) => {
      expect(delivery.content).toEqual(Buffer.from(JSON.stringify(messages[index].body), 'utf8'));
      expect(JSON.parse(delivery.content.toString('utf8'))).toEqual(messages[index].body);
      expect(delivery.properties).toMatchObject({
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        messageId: messages[index].id,
        deliveryMode: 2,
        type: 'binary',
      });
    });
  });

  it('body "amqp-value" (the default): the AMQP encoding of the string, which JSON.parse cannot read', async () => {
    const { messages, received } = await roundTrip('amqp-value', bodies);
    const [short, long] = received.map((delivery) => delivery.content);
    const [shortJson, longJson] = messages.map((message) => Buffer.from(JSON.stringify(message.body), 'utf8'));
    // Descriptor 0x77 (amqp-value), then str8-utf8 (0xa1, 1-byte length) or str32-utf8 (0xb1, 4-byte length).
    expect(short).toEqual(Buffer.concat([Buffer.from([0x00, 0x53, 0x77, 0xa1, shortJson.length]), shortJson]));
    const longLength = Buffer.alloc(4);
    longLength.writeUInt32BE(longJson.length);
    expect(long).toEqual(Buffer.concat([Buffer.from([0x00, 0x53, 0x77, 0xb1]), longLength, longJson]));
    expect(() => JSON.parse(short.toString('utf8'))).toThrow(SyntaxError);
    received.forEach((delivery, index) => {
      expect(delivery.properties).toMatchObject({
        contentType: 'application/json',
        contentEncoding: undefined,
        messageId: messages[index].id,
        deliveryMode: 2,
        type: 'amqp-1.0',
      });
    });
  });

  it.each(['data', 'amqp-value'] as const)(
    'body "%s": application properties reach 0-9-1 only inside the AMQP-encoded x-amqp-1.0-app-properties header',
    async (body) => {
      const { received } = await roundTrip(body, [bodies[0]]);
      // Not as headers of their own (author, compose_id, n, title): 0-9-1 consumers do not see them as such.
      expect(Object.keys(received[0].properties.headers ?? {}).sort()).toEqual([
        'x-amqp-1.0-app-properties',
        'x-amqp-1.0-properties',
      ]);
    },
  );
});
