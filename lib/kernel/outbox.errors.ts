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

/**
 * The application is shutting down and this process no longer delivers
 * messages: the delivery worker's shutdown drain has ended, and the outbox
 * (the in-memory one) would only lose them. The request or `run()` that
 * produced them fails instead of answering a success whose messages nobody
 * sends. A durable store still takes them (they are sent at the next start).
 */
export class OutboxClosedError extends MessagingError {
  /** Ids of the messages that were not accepted. */
  readonly messageIds: readonly string[];
  /** Their topics, without repeats. */
  readonly topics: readonly string[];

  constructor(messages: readonly Message[]) {
    const messageIds = messages.map(({ id }) => id);
    const topics = [...new Set(messages.map(({ topic }) => topic))];
    super(
      `Could not accept ${messageIds.length} message(s) on ${topics.map((topic) => `"${topic}"`).join(', ')} ` +
        `(${messageIds.join(', ')}): the application is shutting down and its outbox drain has ended, ` +
        'so this process would never send them (the memory outbox is lost with it). The request fails instead; ' +
        'retry it against another instance, or use a durable outbox store.',
    );
    this.messageIds = messageIds;
    this.topics = topics;
  }
}
