import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { INestApplication, INestMicroservice } from '@nestjs/common';
import {
  ClientProxyFactory,
  RmqRecordBuilder,
  Transport,
  type ClientProxy,
  type MicroserviceOptions,
} from '@nestjs/microservices';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import amqp from 'amqplib';
import { lastValueFrom } from 'rxjs';
import { MessagingModule } from 'nestjs-messaging';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { RecordingLogger } from './support/http-app.js';
import { OrdersRpcController } from './support/orders-rpc.controller.js';
import { waitFor } from './support/wait-for.js';

const RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

type SetUp = 'hybrid' | 'hybrid with inheritAppConfig' | 'standalone';

interface Running {
  readonly capture: CapturingMessenger;
  readonly logs: RecordingLogger;
  readonly controller: OrdersRpcController;
  close(): Promise<void>;
}

/** Starts `OrdersRpcController` as a microservice on `transport`, the way `setUp` says. */
async function start(setUp: SetUp, transport: MicroserviceOptions): Promise<Running> {
  const capture = new CapturingMessenger();
  const logs = new RecordingLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [MessagingModule.forRoot({ messenger: capture })],
    controllers: [OrdersRpcController],
  }).compile();
  let app: INestApplication | INestMicroservice;
  if (setUp === 'standalone') {
    const service = moduleRef.createNestMicroservice<MicroserviceOptions>({ ...transport, logger: logs });
    await service.listen();
    app = service;
  } else {
    // As the NestJS docs show a hybrid app: connectMicroservice() without options, then start both.
    const http = moduleRef.createNestApplication(new ExpressAdapter(), { logger: logs });
    http.connectMicroservice(transport, setUp === 'hybrid' ? undefined : { inheritAppConfig: true });
    await http.startAllMicroservices();
    await http.listen(0, '127.0.0.1');
    app = http;
  }
  return { capture, logs, controller: moduleRef.get(OrdersRpcController), close: () => app.close() };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/**
 * Emits the two events that have two handlers each, one of which fails: the other's message is sent, the
 * failing one's is not, whichever comes first in the chain.
 */
async function expectChainHandlersApart(client: ClientProxy, running: Running, timeoutMs: number): Promise<void> {
  await lastValueFrom(client.emit('order_paid', { id: 3 }));
  await lastValueFrom(client.emit('order_shipped', { id: 4 }));
  const sent = ['.payments.recorded', '.customers.notified'];
  await waitFor(() => sent.every((topic) => running.capture.topics.includes(topic)), timeoutMs, 'both chains');
  // The failing handlers threw before the successful ones (which wait 50 ms) added theirs.
  expect(running.capture.messages.map(({ topic, body }) => ({ topic, body })).sort(byTopic)).toEqual([
    { topic: '.customers.notified', body: { id: 4 } },
    { topic: '.payments.recorded', body: { id: 3 } },
  ]);
}

function byTopic(a: { topic: string }, b: { topic: string }): number {
  return a.topic.localeCompare(b.topic);
}

describe.each<SetUp>(['hybrid', 'hybrid with inheritAppConfig', 'standalone'])('microservice over TCP, %s', (setUp) => {
  let running: Running;
  let client: ClientProxy;

  beforeEach(async () => {
    const transport = { transport: Transport.TCP, options: { host: '127.0.0.1', port: await freePort() } } as const;
    running = await start(setUp, transport);
    client = ClientProxyFactory.create(transport);
    await client.connect();
  });
  afterEach(async () => {
    await client.close();
    await running.close();
  });

  it('sends what an @EventPattern handler adds when it completes', async () => {
    await lastValueFrom(client.emit('order_created', { id: 7 }));
    await waitFor(() => running.capture.topics.includes('.orders.created'), 5000, 'the event handler message');
    expect(running.capture.messages.map(({ topic, body }) => ({ topic, body }))).toEqual([
      { topic: '.orders.created', body: { id: 7 } },
    ]);
  });

  it('two @EventPattern handlers of one event: one failing does not drop what the other added', async () => {
    await expectChainHandlersApart(client, running, 5000);
  });

  it('answers a @MessagePattern request and sends what it added; drops what a failing one added', async () => {
    await expect(lastValueFrom(client.send('fail', { id: 9 }))).rejects.toEqual({ status: 'error', message: 'nope' });
    expect(await lastValueFrom(client.send('sum', { a: 2, b: 3 }))).toBe(5);
    await waitFor(() => running.capture.topics.includes('.sums'), 5000, 'the request message');
    // Calls are handled in order: the failed one's message would be in by now.
    expect(running.capture.topics).toEqual(['.sums']);
    expect(running.capture.messages[0].body).toEqual({ total: 5 });
    expect(running.logs.lines.map((line) => line.message).join('\n')).not.toContain('MessagingContextError');
  });

  if (setUp === 'hybrid') {
    it('@EmitsMessage() needs inheritAppConfig here: the first call says exactly what to add', async () => {
      expect(await lastValueFrom(client.send('product', { a: 4, b: 5 }))).toBe(20);
      await waitFor(() => running.logs.linesAt('warn').length > 0, 5000, 'the warning');
      expect(running.logs.linesAt('warn')).toEqual([
        expect.stringContaining(
          '@EmitsMessage() on microservice handlers (OrdersRpcController.product) sends nothing for a microservice',
        ),
      ]);
      expect(running.logs.linesAt('warn')[0]).toContain('app.connectMicroservice(options, { inheritAppConfig: true })');
      await lastValueFrom(client.send('product', { a: 1, b: 1 }));
      expect(running.logs.linesAt('warn')).toHaveLength(1);
    });
  } else {
    it('sends the message @EmitsMessage() builds from the reply, and warns of nothing', async () => {
      expect(await lastValueFrom(client.send('product', { a: 4, b: 5 }))).toBe(20);
      await waitFor(() => running.capture.topics.includes('.products.computed'), 5000, 'the @EmitsMessage message');
      expect(running.capture.messages[0].body).toEqual({ product: 20 });
      expect(running.logs.linesAt('warn')).toEqual([]);
    });
  }
});

describe.each<SetUp>(['hybrid', 'standalone'])(
  'microservice over RabbitMQ (Transport.RMQ, noAck: false), %s',
  (setUp) => {
    const queue = `nestjs-messaging-test-${randomUUID()}`;
    const transport = {
      transport: Transport.RMQ as const,
      options: { urls: [RABBITMQ_URL], queue, noAck: false, queueOptions: { durable: false } },
    };
    let running: Running;
    let client: ClientProxy;

    beforeEach(async () => {
      running = await start(setUp, transport);
      // The client's reply consumer (direct reply-to) cannot acknowledge: only the server sets noAck: false.
      client = ClientProxyFactory.create({ ...transport, options: { ...transport.options, noAck: true } });
      await client.connect();
    });
    afterEach(async () => {
      await client.close();
      await running.close();
      const connection = await amqp.connect(RABBITMQ_URL);
      try {
        const channel = await connection.createChannel();
        await channel.deleteQueue(queue);
      } finally {
        await connection.close();
      }
    });

    it('sends nothing for a consumed event whose handler fails', async () => {
      await lastValueFrom(client.emit('stock_broken', { sku: 'broken' }));
      await lastValueFrom(client.emit('order_created', { id: 1 }));
      // One consumer takes the queue in order: once the second event's message is in, the first was handled.
      await waitFor(() => running.capture.topics.includes('.orders.created'), 10_000, 'the second event');
      expect(running.capture.topics).toEqual(['.orders.created']);
    });

    it('two @EventPattern handlers of one consumed event: one failing does not drop what the other added', async () => {
      await expectChainHandlersApart(client, running, 10_000);
    });

    it('on redelivery, the handler sees the same message id, and only the successful handling is sent', async () => {
      const record = new RmqRecordBuilder({ sku: 'A-1' }).setOptions({ messageId: 'stock-A-1' }).build();
      await lastValueFrom(client.emit('stock_changed', record));
      await waitFor(() => running.capture.topics.includes('.stock.changed'), 10_000, 'the redelivered event message');
      expect(running.controller.deliveries).toEqual([
        { messageId: 'stock-A-1', redelivered: false },
        { messageId: 'stock-A-1', redelivered: true },
      ]);
      expect(running.capture.messages.map(({ topic, body }) => ({ topic, body }))).toEqual([
        { topic: '.stock.changed', body: { sku: 'A-1' } },
      ]);
    });

    it('answers a request and sends what it added', async () => {
      expect(await lastValueFrom(client.send('rmq_sum', { a: 20, b: 22 }))).toBe(42);
      await waitFor(() => running.capture.topics.includes('.rmq.sums'), 10_000, 'the request message');
      expect(running.capture.messages[0].body).toEqual({ total: 42 });
    });
  },
);
