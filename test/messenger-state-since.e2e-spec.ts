import { createServer, type Server } from 'node:net';
import { Logger } from '@nestjs/common';
import type { MessengerState } from 'nestjs-messaging';
import { AmqpMessenger } from 'nestjs-messaging/amqp';
import { FedoraMessagingMessenger } from 'nestjs-messaging/fedora-messaging';
import { waitFor } from './support/wait-for.js';

Logger.overrideLogger(['error']);

/** A TCP listener that drops every connection at once and counts them: a broker that is not there. */
async function droppingListener(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

interface Stateful {
  readonly state: MessengerState;
  onModuleInit(): Promise<void>;
  onApplicationShutdown(): Promise<void>;
}

const messengers: Record<string, (port: number) => Stateful> = {
  AmqpMessenger: (port) =>
    new AmqpMessenger({ urls: [`amqp://127.0.0.1:${port}`], reconnectDelayMs: 10, reconnectDelayMaxMs: 40 }),
  FedoraMessagingMessenger: (port) =>
    new FedoraMessagingMessenger({
      urls: [`amqp://guest:guest@127.0.0.1:${port}`],
      app: 'since-test',
      reconnectDelayMs: 10,
      reconnectDelayMaxMs: 40,
    }),
};

describe.each(Object.keys(messengers))('%s state.since', (name) => {
  it('stays when the status was reconnecting already: it is when the bus went away, not the last attempt', async () => {
    const listener = await droppingListener();
    const messenger = messengers[name](listener.port);
    try {
      await messenger.onModuleInit();
      await waitFor(() => messenger.state.status === 'reconnecting', 5000, 'reconnecting');
      const first = messenger.state;
      const seen = listener.connections();
      await waitFor(() => listener.connections() >= seen + 3, 5000, 'three more connection attempts');
      await waitFor(() => messenger.state !== first || listener.connections() >= seen + 6, 5000, 'a new state');
      expect(messenger.state.status).toBe('reconnecting');
      expect(messenger.state.since).toEqual(first.since);
    } finally {
      await messenger.onApplicationShutdown();
      await listener.close();
    }
  });
});
