import { afterEach } from '@jest/globals';
import { AmqpMessenger, AmqpSendError, type AmqpMessengerOptions } from 'nestjs-messaging/amqp';
import { AmqpTestListener } from './amqp-listener.js';

/** What a spec against the in-process AMQP 1.0 peer opens; each is closed after every test, last first. */
export interface AmqpPeerFixtures {
  /** A started in-process peer and its `amqp://` URL. */
  listener(): Promise<{ broker: AmqpTestListener; url: string }>;
  /** An `AmqpMessenger` (sendTimeoutMs 2000 unless given), opened. */
  messenger(options: AmqpMessengerOptions): Promise<AmqpMessenger>;
  /** Something else to close after the test. */
  onCleanup(cleanup: () => Promise<void>): void;
}

/** Registers an `afterEach` that closes what the returned fixtures opened. Call once, at the top of a spec. */
export function amqpPeerFixtures(): AmqpPeerFixtures {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return {
    async listener() {
      const broker = new AmqpTestListener();
      const url = await broker.start();
      cleanups.push(() => broker.close());
      return { broker, url };
    },
    async messenger(options) {
      const instance = new AmqpMessenger({ sendTimeoutMs: 2000, ...options });
      await instance.onModuleInit();
      cleanups.push(() => instance.onApplicationShutdown());
      return instance;
    },
    onCleanup(cleanup) {
      cleanups.push(cleanup);
    },
  };
}

/** The `AmqpSendError` that `sending` rejects with; fails the test when it resolves or rejects otherwise. */
export async function sendError(sending: Promise<void>): Promise<AmqpSendError> {
  try {
    await sending;
  } catch (error) {
    if (error instanceof AmqpSendError) return error;
    throw error;
  }
  throw new Error('expected send() to reject');
}
