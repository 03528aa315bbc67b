import type { Message } from './message.interface.js';
import { MessagingError } from './messaging.errors.js';

/**
 * The outbox could not take a request's messages: the request (or `run()`,
 * or GraphQL operation) that produced them fails, whatever the store, since
 * its success would promise a delivery nobody can keep. Also logged and counted
 * (`refused`).
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
 * The memory outbox holds `maxMessages` messages already (the bus has been
 * unreachable for a while, or cannot keep up): a request's messages were
 * refused, so the request fails. An `OutboxWriteError`; over HTTP Nest answers
 * 503 Service Unavailable (it carries `statusCode` and `status` 503, `expose`
 * false, which Nest's default exception filter honours). Retry later, raise
 * `maxMessages`, or use a durable store.
 */
export class OutboxFullError extends OutboxWriteError {
  /** The most messages the store holds (`maxMessages`). */
  readonly maxMessages: number;
  /** HTTP status for Nest's exception filter: `503`. */
  readonly statusCode = 503;
  /** The same, as `http-errors` spells it. */
  readonly status = 503;
  /** The message (with message ids) is not for the client: the response says only "Service Unavailable". */
  readonly expose = false;

  constructor(messages: readonly Message[], maxMessages: number) {
    super(
      messages,
      `the memory outbox is full (maxMessages ${maxMessages}); the request fails rather than lose them. ` +
        'Retry later, raise MemoryOutboxStore maxMessages, or use a durable store',
    );
    this.maxMessages = maxMessages;
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
