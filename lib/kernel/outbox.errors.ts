import type { Message } from './message.interface.js';
import { MessagingError } from './messaging.errors.js';

/**
 * The outbox could not take a request's messages. From a durable store this
 * fails the request (its 2xx would promise a delivery nobody can keep); from
 * the memory store it is logged and counted, and the response stands.
 */
export class OutboxWriteError extends MessagingError {
  /** Ids of the messages that were not stored. */
  readonly messageIds: readonly string[];
  /** Their topics, without repeats. */
  readonly topics: readonly string[];

  constructor(messages: readonly Message[], reason: string, options?: ErrorOptions) {
    const messageIds = messages.map(({ id }) => id);
    const topics = [...new Set(messages.map(({ topic }) => topic))];
    super(
      `Could not store ${messageIds.length} message(s) on ${topics.map((topic) => `"${topic}"`).join(', ')} ` +
        `in the outbox (${messageIds.join(', ')}): ${reason}`,
      options,
    );
    this.messageIds = messageIds;
    this.topics = topics;
  }
}
