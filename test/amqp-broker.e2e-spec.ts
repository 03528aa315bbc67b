import { Logger } from '@nestjs/common';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createMessage } from 'nestjs-messaging';
import { AMQP_ADDRESS, AmqpConnectionError, AmqpMessenger, type AmqpMessengerOptions } from 'nestjs-messaging/amqp';
import { brokers, consume, consumeUntil, declareTopicQueue, lockProjectNode, projectNode } from './support/brokers.js';

Logger.overrideLogger(['error']);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function messenger(options: AmqpMessengerOptions): Promise<AmqpMessenger> {
  const instance = new AmqpMessenger({
    username: 'guest',
    password: 'guest',
    address: AMQP_ADDRESS.rabbitmq3,
    ...options,
  });
  await instance.onModuleInit();
  cleanups.push(() => instance.onApplicationShutdown());
  return instance;
}

async function connectionError(sending: Promise<void>): Promise<AmqpConnectionError> {
  try {
    await sending;
  } catch (error) {
    if (error instanceof AmqpConnectionError) return error;
    throw error;
  }
  throw new Error('expected send() to fail to connect');
}

const { shared, project } = brokers();
let unlockProjectNode: (() => void) | undefined;
beforeAll(async () => {
  unlockProjectNode = await lockProjectNode();
}, 120_000);
afterAll(() => {
  unlockProjectNode?.();
});

describe('AmqpMessenger against RabbitMQ (AMQP 1.0)', () => {
  it('delivers .compose with prefix eng.pdc to the durable consumer queue of the virtual topic, with every property', async () => {
    const queue = 'Consumer.test.VirtualTopic.eng.pdc.compose';
    await declareTopicQueue(shared.url, queue, 'eng.pdc.compose');
    const amqp = await messenger({ urls: [shared.url], topicPrefix: 'eng.pdc' });
    const message = createMessage('.compose', {
      action: 'create',
      compose_id: 'Fedora-41-20261128.n.0',
      compose_respin: 0,
      new_value: { compose_id: 'Fedora-41-20261128.n.0', deleted: false },
      author: 'alice',
      comment: null,
    });
    await amqp.send([message]);
    const [received] = await consume(shared.url, queue, 1);
    expect(received.message_id).toBe(message.id);
    expect(received.durable).toBe(true);
    expect(received.content_type).toBe('application/json');
    expect(JSON.parse(received.body as string)).toEqual(message.body);
    expect(received.application_properties).toEqual({
      action: 'create',
      compose_id: 'Fedora-41-20261128.n.0',
      compose_respin: 0,
      author: 'alice',
      comment: null,
      'DATA:compose_id': 'Fedora-41-20261128.n.0',
      'DATA:deleted': false,
    });
  });

  it('reports an address RabbitMQ does not know (the ActiveMQ default) as a refused address', async () => {
    const amqp = await messenger({ urls: [shared.url], topicPrefix: 'eng.pdc', address: AMQP_ADDRESS.activemq });
    await expect(amqp.send([createMessage('.compose', {})])).rejects.toThrow(
      /address-refused amqp:invalid-field: Attach rejected: \{unknown_destination,"topic:\/\/eng\.pdc\.compose"\}/,
    );
  });

  describe('TLS with client certificates (project-owned node)', () => {
    it('connects with the seed-style combined certificate file, and with certificate + privateKey', async () => {
      const queue = 'tls-test';
      await declareTopicQueue(project.url, queue, 'tls.check');
      const combined = await messenger({
        urls: [project.tlsUrl],
        certificate: project.pki.clientCombined,
        caCertificate: project.pki.ca,
      });
      await combined.send([createMessage('tls.check', { n: 1 })]);
      const separate = await messenger({
        urls: [project.tlsUrl],
        certificate: project.pki.clientCertificate,
        privateKey: project.pki.clientKey,
        caCertificate: project.pki.ca,
      });
      await separate.send([createMessage('tls.check', { n: 2 })]);
      const received = await consume(project.url, queue, 2);
      expect(received.map((message) => JSON.parse(message.body as string).n)).toEqual([1, 2]);
    });

    it('fails clearly without a client certificate, never falling back to plain', async () => {
      const amqp = await messenger({ urls: [project.tlsUrl], caCertificate: project.pki.ca, connectionTimeout: 5 });
      const error = await connectionError(amqp.send([createMessage('tls.check', {})]));
      expect(error.attempts).toEqual([
        {
          url: project.tlsUrl,
          reason: expect.stringMatching(/^TLS: the broker refused our client certificate \(.*certificate required\)/),
        },
      ]);
    });

    it('fails clearly when the CA does not match the broker', async () => {
      const amqp = await messenger({
        urls: [project.tlsUrl],
        certificate: project.pki.clientCombined,
        caCertificate: project.pki.otherCa,
        connectionTimeout: 5,
      });
      const error = await connectionError(amqp.send([createMessage('tls.check', {})]));
      expect(error.attempts[0].reason).toMatch(
        /^TLS: the broker's certificate was not accepted \(SELF_SIGNED_CERT_IN_CHAIN.*check caCertificate$/,
      );
    });

    it('checks the host name (the certificate names localhost only), unless verifyHostname is false', async () => {
      const byAddress = project.tlsUrl.replace('localhost', '127.0.0.1');
      const strict = await messenger({
        urls: [byAddress],
        certificate: project.pki.clientCombined,
        caCertificate: project.pki.ca,
        connectionTimeout: 5,
      });
      const error = await connectionError(strict.send([createMessage('tls.check', {})]));
      expect(error.attempts[0].reason).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID.*verifyHostname: false$/);
      const lenient = await messenger({
        urls: [byAddress],
        certificate: project.pki.clientCombined,
        caCertificate: project.pki.ca,
        verifyHostname: false,
      });
      await expect(lenient.send([createMessage('tls.check', {})])).resolves.toBeUndefined();
    });
  });

  it('fails over: past a broker that never answers, all messages arrive via the next within connectionTimeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => {
            resolve();
          });
        }),
    );
    const silentUrl = `amqp://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const queue = 'failover-test';
    await declareTopicQueue(project.url, queue, 'failover.check');
    const amqp = await messenger({ urls: [silentUrl, project.url], connectionTimeout: 2 });
    // Random order: whichever comes first, the batch must arrive within one timeout plus a margin.
    const started = Date.now();
    const batch = Array.from({ length: 20 }, (_, n) => createMessage('failover.check', { n }));
    await amqp.send(batch);
    expect(Date.now() - started).toBeLessThan(2000 + 1000);
    expect(amqp.connectedTo).toBe(project.url);
    const received = await consume(project.url, queue, 20);
    expect(received.map((message) => message.message_id)).toEqual(batch.map((message) => message.id));
  });

  it('reconnects after a broker restart mid-stream; no send resolves for a message the broker did not accept', async () => {
    const queue = 'restart-test';
    await declareTopicQueue(project.url, queue, 'restart.stream');
    const amqp = await messenger({
      urls: [project.url],
      connectionTimeout: 2,
      reconnectDelayMs: 200,
      reconnectDelayMaxMs: 1000,
      sendTimeoutMs: 5000,
    });
    const resolved: string[] = [];
    const rejected: string[] = [];
    const node = { restarted: false };
    let afterRestart = 0;
    const restart = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await projectNode('stop');
      await projectNode('start');
      node.restarted = true;
    })();
    const deadline = Date.now() + 60_000;
    while (afterRestart < 20 && Date.now() < deadline) {
      const message = createMessage('restart.stream', { n: resolved.length + rejected.length });
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        amqp.send([message]).then(
          () => 'resolved' as const,
          () => 'rejected' as const,
        ),
        new Promise<'hung'>((resolve) => {
          timer = setTimeout(() => {
            resolve('hung');
          }, 15_000);
        }),
      ]);
      clearTimeout(timer);
      expect(outcome).not.toBe('hung');
      if (outcome === 'resolved') resolved.push(message.id);
      else {
        rejected.push(message.id);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (node.restarted && outcome === 'resolved') afterRestart++;
    }
    await restart;
    expect(afterRestart).toBe(20);
    expect(rejected.length).toBeGreaterThan(0);
    // Until every resolved send arrived: a rejected send may have reached the queue too (the broker
    // took it, its settlement was lost with the connection), so a count of resolved ones is not enough.
    const idsOf = (messages: readonly { message_id?: unknown }[]): Set<string> =>
      new Set(messages.map((message) => String(message.message_id)));
    const inQueue = idsOf(
      await consumeUntil(
        project.url,
        queue,
        (received) => {
          const ids = idsOf(received);
          return resolved.every((id) => ids.has(id));
        },
        'every resolved send',
      ),
    );
    expect(resolved.filter((id) => !inQueue.has(id))).toEqual([]);
  });
});
