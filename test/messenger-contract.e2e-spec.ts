import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { createMessage, LoggingMessenger, MessengerUnavailableError } from 'nestjs-messaging';
import { AmqpMessenger } from 'nestjs-messaging/amqp';
import { FedmsgMessenger, type FedmsgMessengerOptions } from 'nestjs-messaging/fedmsg';
import { FedoraMessagingMessenger } from 'nestjs-messaging/fedora-messaging';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { Subscriber } from 'zeromq';
import { AmqpTestListener, closedPort } from './support/amqp-listener.js';
import { brokers } from './support/brokers.js';
import { FedoraMessagingConsumer } from './support/fedora-messaging-consumer.js';
import { describeMessengerContract, type ContractBus } from './support/messenger-contract.js';
import { waitFor } from './support/wait-for.js';

Logger.overrideLogger(['error']);

/** LoggingMessenger's "bus" is the debug log: the ids it logged, in order. */
function loggingBus(): ContractBus {
  const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
  const logged = (): string[] =>
    debug.mock.calls.map(([text]) => (JSON.parse(String(text).replace(/^[^\n]*\n/, '')) as { id: string }).id);
  return {
    messenger: new LoggingMessenger(),
    received: logged,
    close: () => {
      debug.mockRestore();
      return Promise.resolve();
    },
  };
}

describeMessengerContract('LoggingMessenger', {
  open: () => Promise.resolve(loggingBus()),
  acknowledged: true,
  refusing: {
    doesNotApply: 'it has no bus that could refuse a message',
    instead: {
      title: 'send() resolves and logs every message, whatever its body',
      check: async () => {
        const bus = loggingBus();
        try {
          const batch = [createMessage('.big', { text: 'x'.repeat(1_000_000) }), createMessage('.odd', { 'é 🚢': [] })];
          await expect(bus.messenger.send(batch)).resolves.toBeUndefined();
          expect(bus.received()).toEqual(batch.map(({ id }) => id));
        } finally {
          await bus.close();
        }
      },
    },
  },
  unreachable: {
    doesNotApply: 'it connects to nothing',
    instead: {
      title: 'send() resolves without any lifecycle hook having run',
      check: () => expect(new LoggingMessenger().send([createMessage('.a', {})])).resolves.toBeUndefined(),
    },
  },
});

function capturingBus(failure?: Error): Promise<ContractBus> {
  const capture = new CapturingMessenger();
  // The test double's own way to play a bus that refuses batches or is down.
  capture.failWith(failure);
  return Promise.resolve({
    messenger: capture,
    received: () => capture.messages.map(({ id }) => id),
    close: () => Promise.resolve(),
  });
}

describeMessengerContract('CapturingMessenger', {
  open: () => capturingBus(),
  acknowledged: true,
  refusing: { per: 'batch', open: () => capturingBus(new Error('the bus refused the batch')) },
  unreachable: { open: () => capturingBus(new MessengerUnavailableError('the bus is down')) },
});

/** A FedmsgMessenger and, unless `subscribed` is false, a subscriber whose subscription has reached it. */
async function fedmsgBus(
  options: Partial<FedmsgMessengerOptions> = {},
  subscribed = true,
): Promise<ContractBus & { messenger: FedmsgMessenger }> {
  const messenger = new FedmsgMessenger({
    endpoints: ['tcp://127.0.0.1:*'],
    lingerMs: 0,
    joinTimeoutMs: 200,
    ...options,
  });
  await messenger.onModuleInit();
  const subscriber = new Subscriber({ linger: 0 });
  const ids: string[] = [];
  const probe = createMessage('.probe', {});
  const reading = (async () => {
    try {
      for await (const [, body] of subscriber) {
        const msgId = (JSON.parse(body.toString('utf8')) as { msg_id: string }).msg_id;
        ids.push(msgId.slice(msgId.indexOf('-') + 1)); // fedmsg's msg_id is "<year>-<id>"
      }
    } catch {
      // closed
    }
  })();
  const close = async (): Promise<void> => {
    await messenger.onApplicationShutdown();
    subscriber.close();
    await reading;
  };
  if (subscribed) {
    subscriber.connect(messenger.endpoint!);
    subscriber.subscribe();
    // PUB drops what it sends before a subscription arrives: probe until one gets through.
    // One probe at a time; one sent again may still arrive during the test: received() leaves it out.
    let probing: Promise<void> | undefined;
    await waitFor(
      () => {
        probing ??= messenger.send([probe]).finally(() => (probing = undefined));
        return ids.includes(probe.id);
      },
      5000,
      'the subscription to reach the publisher',
    );
    await probing;
    ids.length = 0;
  }
  return { messenger, received: () => ids.filter((id) => id !== probe.id), close };
}

describeMessengerContract('FedmsgMessenger', {
  open: () => fedmsgBus(),
  acknowledged: { doesNotApply: 'ZeroMQ PUB resolves once the frames are handed to the socket' },
  refusing: {
    doesNotApply: 'ZeroMQ PUB has no acknowledgements, so no subscriber can refuse a message',
    instead: {
      title:
        'a subscriber at its high-water mark loses messages for itself only: send() resolves, the reading subscriber gets every one',
      check: async () => {
        const bus = await fedmsgBus({ highWaterMark: 10 });
        // A subscriber that never reads: its queues fill up, and ZeroMQ drops for it alone.
        const stuck = new Subscriber({ linger: 0, receiveHighWaterMark: 10 });
        try {
          stuck.connect(bus.messenger.endpoint!);
          stuck.subscribe();
          const payload = { filler: 'x'.repeat(64_000) }; // the stuck one's TCP buffers fill after ~100
          const sent: string[] = [];
          while (sent.length < 500) {
            const batch = Array.from({ length: 5 }, () => createMessage('.flood', payload));
            sent.push(...batch.map(({ id }) => id));
            await expect(bus.messenger.send(batch)).resolves.toBeUndefined();
            // Lock-step, so the reading subscriber never lags itself.
            await waitFor(() => bus.received().length >= sent.length, 5000, `${sent.length} messages to arrive`);
          }
          expect(bus.received()).toEqual(sent);
          expect(bus.messenger.stats.dropped).toBe(0);
        } finally {
          stuck.close();
          await bus.close();
        }
      },
    },
  },
  unreachable: {
    doesNotApply: 'a ZeroMQ socket connects in the background and cannot tell an absent relay from a quiet one',
    instead: {
      title:
        'in active mode with no relay listening, send() resolves: the messages are handed to the socket and reach no one',
      check: async () => {
        const endpoint = (await closedPort()).replace('amqp://', 'tcp://');
        const bus = await fedmsgBus({ endpoints: [endpoint], active: true }, false);
        try {
          await expect(bus.messenger.send([createMessage('.a', {}), createMessage('.b', {})])).resolves.toBeUndefined();
          expect(bus.messenger.stats).toEqual({ published: 2, dropped: 0 });
        } finally {
          await bus.close();
        }
      },
    },
  },
});

async function amqpBus(url: string, listener?: AmqpTestListener): Promise<ContractBus> {
  const messenger = new AmqpMessenger({ urls: [url], sendTimeoutMs: 2000, reconnectDelayMs: 50 });
  await messenger.onModuleInit();
  return {
    messenger,
    received: () => (listener?.received ?? []).map(({ message }) => String(message.message_id)),
    close: async () => {
      await messenger.onApplicationShutdown();
      await listener?.close();
    },
  };
}

async function amqpListenerBus(refuse: (messageId: string) => boolean = () => false): Promise<ContractBus> {
  const listener = new AmqpTestListener();
  listener.decide = ({ message }) => (refuse(String(message.message_id)) ? 'reject' : 'accept');
  return amqpBus(await listener.start(), listener);
}

describeMessengerContract('AmqpMessenger', {
  open: () => amqpListenerBus(),
  acknowledged: true,
  refusing: { per: 'message', open: amqpListenerBus },
  unreachable: { open: async () => amqpBus(await closedPort()) },
});

/**
 * A FedoraMessagingMessenger on the shared RabbitMQ node, and a consumer bound to its prefix. To
 * refuse chosen messages, the messenger publishes to a headers exchange that routes only messages
 * flagged `fedora_messaging_user_accepted`: the others come back unroutable (mandatory).
 */
async function fedoraMessagingBus(refuse?: (messageId: string) => boolean, urls?: string[]): Promise<ContractBus> {
  const { url, username, password } = brokers().shared;
  const shared = url.replace('amqp://', `amqp://${username}:${password}@`);
  const prefix = `contract${String(Date.now())}${String(Math.random()).slice(2, 8)}`;
  const exchange = `${prefix}.headers`;
  const consumer = await new FedoraMessagingConsumer().start(shared, `${prefix}.#`, {
    ...(refuse ? { headersExchange: { name: exchange, match: { fedora_messaging_user_accepted: true } } } : {}),
  });
  const messenger = new FedoraMessagingMessenger({
    urls: urls ?? [shared],
    app: 'contract',
    topicPrefix: prefix,
    sendTimeoutMs: 2000,
    reconnectDelayMs: 50,
    ...(refuse ? { exchange, filters: (message) => ({ user: [refuse(message.id) ? 'refused' : 'accepted'] }) } : {}),
  });
  await messenger.onModuleInit();
  return {
    messenger,
    received: () => consumer.ids(),
    close: async () => {
      await messenger.onApplicationShutdown();
      await consumer.close();
    },
  };
}

describeMessengerContract('FedoraMessagingMessenger', {
  open: () => fedoraMessagingBus(),
  acknowledged: { doesNotApply: 'the broker confirms once the queue has the message; the consumer reads it after' },
  refusing: { per: 'message', open: (refuse) => fedoraMessagingBus(refuse) },
  unreachable: { open: async () => fedoraMessagingBus(undefined, [await closedPort()]) },
});
