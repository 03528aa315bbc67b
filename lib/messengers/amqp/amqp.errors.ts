import { MessengerSendError, type MessageSendFailure } from '../../kernel/messenger-send.error.js';
import { MessengerUnavailableError } from '../../kernel/messaging.errors.js';

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

/** What the broker (or the lack of an answer) said about one message it did not accept. */
export interface AmqpRefusal {
  readonly messageId: string;
  readonly topic: string;
  readonly address: string;
  readonly outcome: AmqpOutcome;
  /** The broker's condition, such as `amqp:invalid-field`, when it gave one. */
  readonly condition?: string;
  readonly description: string;
}

/**
 * One message the broker did not accept: what it said, and (as for any
 * messenger) a `reason` and whether the attempt is `counted`: not for
 * `connection-lost` and `link-detached`, which are not the message's fault.
 */
export interface AmqpDeliveryFailure extends AmqpRefusal, MessageSendFailure {}

/**
 * `send()` could not get every message of a batch accepted. Names the first
 * failure (topic, message id, broker URL, condition) and carries all of them,
 * with the ids the broker did accept, so a caller can retry only the rest.
 * A `MessengerSendError`: a lost connection marks the bus `unavailable`.
 */
export class AmqpSendError extends MessengerSendError {
  /** Every message of the batch the broker did not accept, in batch order. */
  declare readonly failures: readonly AmqpDeliveryFailure[];

  constructor(
    /** The broker the batch was sent to. */
    readonly url: string,
    failures: readonly AmqpRefusal[],
    /** Ids of the messages of the batch the broker accepted. */
    acceptedIds: readonly string[],
  ) {
    const [first] = failures;
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    super(
      {
        acceptedIds,
        failures: failures.map(amqpDeliveryFailure),
        unavailable: failures.find(({ outcome }) => outcome === 'connection-lost')?.description,
      },
      `AMQP broker ${url} did not accept message ${first.messageId} on topic "${first.topic}" (address ${first.address}): ` +
        `${first.outcome}${first.condition ? ` ${first.condition}` : ''}: ${first.description}${more}`,
    );
  }
}

/** Neither a lost connection nor another message's fault counts against this one. */
function amqpDeliveryFailure(refusal: AmqpRefusal): AmqpDeliveryFailure {
  const { outcome, condition, description } = refusal;
  return {
    ...refusal,
    reason: `${outcome}${condition ? ` ${condition}` : ''}: ${description}`,
    counted: outcome !== 'connection-lost' && outcome !== 'link-detached',
  };
}
