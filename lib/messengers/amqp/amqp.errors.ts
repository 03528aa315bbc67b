import { MessagingError, MessengerUnavailableError } from '../../kernel/messaging.errors.js';

/** No broker could be connected to. Lists every URL tried and why it failed. */
export class AmqpConnectionError extends MessengerUnavailableError {
  constructor(
    /** One entry per URL tried, in the order tried. */
    readonly attempts: readonly { readonly url: string; readonly reason: string }[],
  ) {
    super(`Could not connect to any AMQP broker: ${attempts.map(({ url, reason }) => `${url}: ${reason}`).join('; ')}`);
  }
}

/**
 * How the broker (or the lack of an answer) settled one message:
 * `rejected`, `released`, `modified` (AMQP outcomes); `timeout` (no answer
 * within `sendTimeoutMs`); `link-refused` (the broker refused the link, or
 * ended it over this message); `link-detached` (the broker ended the link
 * over an earlier message, before settling this one); `connection-lost`.
 */
export type AmqpOutcome =
  'rejected' | 'released' | 'modified' | 'timeout' | 'link-refused' | 'link-detached' | 'connection-lost';

/** One message the broker did not accept. */
export interface AmqpDeliveryFailure {
  readonly messageId: string;
  readonly topic: string;
  readonly address: string;
  readonly outcome: AmqpOutcome;
  /** The broker's condition, such as `amqp:invalid-field`, when it gave one. */
  readonly condition?: string;
  readonly description: string;
}

/**
 * `send()` could not get every message of a batch accepted. Names the first
 * failure (topic, message id, broker URL, condition) and carries all of them,
 * with the ids the broker did accept, so a caller can retry only the rest.
 */
export class AmqpSendError extends MessagingError {
  constructor(
    /** The broker the batch was sent to. */
    readonly url: string,
    readonly failures: readonly AmqpDeliveryFailure[],
    /** Ids of the messages of the batch the broker accepted. */
    readonly acceptedIds: readonly string[],
  ) {
    const [first] = failures;
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    super(
      `AMQP broker ${url} did not accept message ${first.messageId} on topic "${first.topic}" (address ${first.address}): ` +
        `${first.outcome}${first.condition ? ` ${first.condition}` : ''}: ${first.description}${more}`,
    );
  }
}
