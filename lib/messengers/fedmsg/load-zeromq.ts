import type * as Zmq from 'zeromq';
import { MessagingError } from '../../kernel/messaging.errors.js';

/** Loads the optional `zeromq` peer dependency, only when a FedmsgMessenger starts. */
export async function loadZeromq(): Promise<typeof Zmq> {
  try {
    return await import('zeromq');
  } catch (error) {
    throw new MessagingError(
      `FedmsgMessenger needs the "zeromq" package (version 6): npm install zeromq@6. Loading it failed: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
}
