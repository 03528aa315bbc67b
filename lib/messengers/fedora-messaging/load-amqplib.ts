import type * as Amqplib from 'amqplib';
import { MessagingError } from '../../kernel/messaging.errors.js';

/** The part of amqplib's promise API the messenger uses. */
export type AmqplibApi = Pick<typeof Amqplib, 'connect' | 'credentials'>;

/** Loads the optional `amqplib` peer dependency, only when a FedoraMessagingMessenger starts. */
export async function loadAmqplib(): Promise<AmqplibApi> {
  try {
    const loaded = (await import('amqplib')) as AmqplibApi & { default?: AmqplibApi };
    // amqplib is CommonJS: under ESM its API is the default export.
    return loaded.default ?? loaded;
  } catch (error) {
    throw new MessagingError(
      `FedoraMessagingMessenger needs the "amqplib" package (version 0.10): npm install amqplib@0.10. Loading it failed: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
}
