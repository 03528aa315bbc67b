import type { Message } from '../kernel/message.interface.js';
import { MessengerSendError } from '../kernel/messenger-send.error.js';
import { MessengerUnavailableError, NonRetryableMessageError } from '../kernel/messaging.errors.js';

/** One message a `send()` did not get onto the bus. */
export interface UnsentMessage {
  readonly message: Message;
  readonly reason: string;
  /** False when it was not the message's fault (the bus was unreachable, another message ended the link): not one of its attempts. */
  readonly counted: boolean;
  /** Not sent again before this time (ms since the epoch), when the messenger said so. */
  readonly retryAt?: number;
  /** Present (`false`) when sending it again cannot succeed: dead at once, reason `rejected`. */
  readonly retryable?: false;
}

/** What became of a batch the messenger rejected. */
export interface SendOutcome {
  /** Ids of messages of the batch the bus has taken, in batch order. */
  readonly deliveredIds: readonly string[];
  /** Every other message of the batch, in batch order. */
  readonly unsent: readonly UnsentMessage[];
  /** Set when the bus could not be reached at all: the dispatcher pauses as a whole. */
  readonly unavailable: string | undefined;
  /** Whether the messenger has already logged why the bus is unreachable: delivery does not warn again. */
  readonly unavailableLogged: boolean;
}

/**
 * Reads a messenger's rejection of `messages` by the `Messenger` contract:
 * `MessengerSendError` (`AmqpSendError` is one) tells per message what
 * happened, `MessengerUnavailableError` means nothing reached the bus and
 * nothing is counted, `NonRetryableMessageError` fails every message of the
 * batch for good, and any other error fails every message of the batch,
 * counted. Every message of the batch ends up either delivered or unsent.
 */
export function sendOutcome(error: unknown, messages: readonly Message[]): SendOutcome {
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof MessengerUnavailableError) {
    return {
      deliveredIds: [],
      unsent: messages.map((message) => ({ message, reason, counted: false })),
      unavailable: reason,
      unavailableLogged: error.logged,
    };
  }
  if (error instanceof MessengerSendError) return partialOutcome(error, messages);
  const final = error instanceof NonRetryableMessageError;
  return {
    deliveredIds: [],
    unsent: messages.map((message) =>
      final ? { message, reason, counted: true, retryable: false } : { message, reason, counted: true },
    ),
    unavailable: undefined,
    unavailableLogged: false,
  };
}

/**
 * A failure the report names wins over its id in `acceptedIds` (sent again:
 * at-least-once); a message it names in neither fails, counted unless the
 * bus is unavailable; ids of other batches are ignored.
 */
function partialOutcome(error: MessengerSendError, messages: readonly Message[]): SendOutcome {
  const failures = new Map(error.failures.map((failure) => [failure.messageId, failure]));
  const accepted = new Set(error.acceptedIds);
  const deliveredIds: string[] = [];
  const unsent: UnsentMessage[] = [];
  for (const message of messages) {
    const failure = failures.get(message.id);
    if (failure !== undefined) {
      const { reason, counted, retryAt } = failure;
      if (failure.retryable === false) unsent.push({ message, reason, counted: true, retryable: false });
      else unsent.push(retryAt === undefined ? { message, reason, counted } : { message, reason, counted, retryAt });
    } else if (accepted.has(message.id)) deliveredIds.push(message.id);
    else {
      unsent.push({
        message,
        reason: `not reported by the messenger, which failed with: ${error.message}`,
        counted: error.unavailable === undefined,
      });
    }
  }
  return { deliveredIds, unsent, unavailable: error.unavailable, unavailableLogged: error.unavailableLogged };
}
