import type { Message } from '../kernel/message.interface.js';
import { AmqpSendError } from '../messengers/amqp/amqp.errors.js';
import { MessengerUnavailableError } from '../kernel/messaging.errors.js';

/** One message a `send()` did not get onto the bus. */
export interface UnsentMessage {
  readonly message: Message;
  readonly reason: string;
  /** False when the bus was unreachable: not the message's fault, so not one of its attempts. */
  readonly counted: boolean;
}

/** What became of a batch the messenger rejected. */
export interface SendOutcome {
  readonly deliveredIds: readonly string[];
  readonly unsent: readonly UnsentMessage[];
  /** Set when the bus could not be reached at all: the dispatcher pauses as a whole. */
  readonly unavailable: string | undefined;
}

/**
 * Reads a messenger's rejection: `AmqpSendError` tells per message what the
 * broker said, `MessengerUnavailableError` means nothing reached the bus, and
 * any other error fails every message of the batch.
 */
export function sendOutcome(error: unknown, messages: readonly Message[]): SendOutcome {
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof MessengerUnavailableError) {
    return {
      deliveredIds: [],
      unsent: messages.map((message) => ({ message, reason, counted: false })),
      unavailable: reason,
    };
  }
  if (error instanceof AmqpSendError) {
    const byId = new Map(messages.map((message) => [message.id, message]));
    const unsent: UnsentMessage[] = [];
    let lost: string | undefined;
    for (const failure of error.failures) {
      const message = byId.get(failure.messageId);
      if (message === undefined) continue;
      const connectionLost = failure.outcome === 'connection-lost';
      if (connectionLost) lost ??= failure.description;
      unsent.push({
        message,
        reason: `${failure.outcome}${failure.condition ? ` ${failure.condition}` : ''}: ${failure.description}`,
        // Neither a lost connection nor another message's fault counts against this one.
        counted: !connectionLost && failure.outcome !== 'link-detached',
      });
    }
    return { deliveredIds: error.acceptedIds, unsent, unavailable: lost };
  }
  return {
    deliveredIds: [],
    unsent: messages.map((message) => ({ message, reason, counted: true })),
    unavailable: undefined,
  };
}
