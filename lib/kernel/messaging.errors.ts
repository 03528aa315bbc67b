/**
 * Base class of every error this library throws, so an application can catch
 * them all with one `instanceof MessagingError`.
 */
export class MessagingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

/**
 * Thrown by `MessageQueue.add()` when the topic is empty, contains whitespace,
 * or contains a broker wildcard character (`*`, `>`, `#`).
 */
export class InvalidTopicError extends MessagingError {
  constructor(
    /** The topic as it was given. */
    readonly topic: string,
    reason: string,
  ) {
    super(
      `Invalid message topic ${JSON.stringify(topic)}: ${reason}. ` +
        'Use a non-empty topic of letters, digits, dots, dashes and underscores, such as ".releases.added".',
    );
  }
}

/**
 * Thrown by `MessageQueue.add()` when the body cannot be represented
 * faithfully as JSON. `path` points at the offending value, for example
 * `body.items[3].size`.
 */
export class MessageSerializationError extends MessagingError {
  constructor(
    /** Topic of the message that was being added. */
    readonly topic: string,
    /** Path of the offending value inside the body, starting with `body`. */
    readonly path: string,
    /** Why the value cannot be sent. */
    readonly reason: string,
  ) {
    super(
      `Message on topic "${topic}" cannot be serialised: ${path} ${reason}. ` +
        'Convert it to plain JSON data (objects, arrays, strings, finite numbers, booleans, null) before adding it.',
    );
  }
}

/**
 * Thrown when messages are added where no message context is open: outside
 * an HTTP request, microservice or WebSocket handler and outside
 * `MessageQueue.run()`, or after the context finished. The message names
 * what the call ran in (no async context, or a request of a given type
 * before its handler) and what to do there.
 */
export class MessagingContextError extends MessagingError {}

/**
 * Thrown by `MessageQueue.add()` when the context the calling code belongs to
 * (a request, a `run()`, a database transaction or savepoint) has already
 * closed: its messages were taken for the outbox, or it failed or rolled back.
 * Typically un-awaited work that outlived its context; `await` it inside the
 * context, or give it its own with `MessageQueue.run()`.
 */
export class MessagingContextClosedError extends MessagingContextError {
  constructor(
    /** Topic of the message that was refused. */
    readonly topic: string,
    /** Why the context no longer takes messages, and what to do. */
    reason: string,
  ) {
    super(`Cannot add a message on topic "${topic}": ${reason}`);
  }
}

/**
 * Thrown by `TransactionalOutbox.add(tx, ...)` when `tx` is not inside a
 * database transaction, so the outbox row would not commit or roll back with
 * the application's change: a pool (each query may take another connection),
 * a connection on which no `BEGIN` ran (or whose transaction already ended),
 * an ORM's root instance instead of its transaction object, or a transaction
 * that already failed. Nothing was written.
 */
export class NotInTransactionError extends MessagingContextError {
  constructor(
    /** Topic of the message that was refused. */
    readonly topic: string,
    /** What the handle is and why it is not a transaction, e.g. `a pg Pool: ...`. */
    readonly reason: string,
  ) {
    super(`Cannot add a message on topic "${topic}" through ${reason}`);
  }
}

/**
 * Thrown by `MessageQueue.add()` when one request, `run()` or database
 * transaction already holds `maxMessagesPerRequest` messages (a module option).
 */
export class MessageLimitError extends MessagingError {
  constructor(
    /** Topic of the message that was refused. */
    readonly topic: string,
    /** The configured `maxMessagesPerRequest`. */
    readonly limit: number,
    where: string,
  ) {
    super(
      `Cannot add a message on topic "${topic}": ${where} already holds ${limit} messages, ` +
        'the limit set by the MessagingModule option maxMessagesPerRequest. Raise the option, or split the work ' +
        'into several requests, run() calls or transactions.',
    );
  }
}

/**
 * Thrown at application start-up when the module options are invalid. The
 * message lists every invalid field as `path: message`.
 */
export class MessagingOptionsError extends MessagingError {
  constructor(
    /** One entry per invalid option, as `path: message`. */
    readonly issues: readonly string[],
    /** What the options configure, for the message. */
    subject = 'MessagingModule options',
  ) {
    super(`Invalid ${subject}:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
  }
}

/**
 * A messenger throws this (or a subclass) when the bus cannot be reached at
 * all, as opposed to refusing particular messages. The dispatcher then backs
 * off as a whole, keeps the messages, and does not count the attempt against
 * them. Any other error from `send()` counts as a failed attempt of every
 * message of the batch.
 */
export class MessengerUnavailableError extends MessagingError {
  /**
   * Whether the messenger has already logged the reason (at error level, such
   * as a refused login): delivery then does not log it again as a warning.
   */
  readonly logged: boolean;

  /** @param options `logged`: see the property. Default: `false`. */
  constructor(message: string, options?: ErrorOptions & { readonly logged?: boolean }) {
    super(message, options);
    this.logged = options?.logged ?? false;
  }
}

/**
 * Thrown by a messenger's `send()` (or by any code the application wraps
 * around one) when the bus refused the batch for good: a message it will
 * never take, such as one over its size limit or to an address it refuses.
 * Delivery then declares every message of the batch dead at once, without
 * consulting `dispatch.retry.retryIf` or the retry schedule, with dead reason
 * `rejected` and this error's message as the message's last error. The
 * attempt counts. An operator can make the messages pending again
 * (`OutboxAdmin.requeue`, `npx nestjs-messaging outbox requeue`).
 *
 * To refuse only some messages of a batch, throw a `MessengerSendError`
 * whose failures for them say `retryable: false`.
 *
 * @example
 * ```ts
 * if (payload.length > limit) {
 *   throw new NonRetryableMessageError(`the bus takes at most ${limit} bytes, got ${payload.length}`);
 * }
 * ```
 */
export class NonRetryableMessageError extends MessagingError {}
