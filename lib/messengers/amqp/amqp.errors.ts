import { MessengerSendError, type MessageSendFailure } from '../../kernel/messenger-send.error.js';
import { MessengerUnavailableError } from '../../kernel/messaging.errors.js';
import { connectionConditionKind, isPermanentMessageCondition } from './amqp-condition.js';

/** One broker tried while connecting, and why it did not open. */
export interface AmqpConnectAttempt {
  readonly url: string;
  readonly reason: string;
  /** The broker's AMQP condition (such as `amqp:unauthorized-access`) when it refused the connection itself. */
  readonly condition?: string;
}

/** No broker could be connected to. Lists every URL tried and why it failed. */
export class AmqpConnectionError extends MessengerUnavailableError {
  constructor(
    /** One entry per URL tried, in the order tried. */
    readonly attempts: readonly AmqpConnectAttempt[],
    message = `Could not connect to any AMQP broker: ${attempts.map(({ url, reason }) => `${url}: ${reason}`).join('; ')}`,
    options?: { readonly logged?: boolean },
  ) {
    super(message, options);
  }
}

/**
 * No broker could be connected to, and at least one refused for a reason
 * an operator must fix (`attempts[].condition` such as
 * `amqp:unauthorized-access`: wrong username or password; `amqp:not-found`,
 * `amqp:not-allowed`: no such virtual host, no permission). The messenger
 * then retries only every `reconnectDelayMaxMs`. Still a
 * `MessengerUnavailableError`: delivery keeps the messages and counts no
 * attempt. `logged` is true: the messenger logged it at error level (once).
 */
export class AmqpConnectionRefusedError extends AmqpConnectionError {
  constructor(attempts: readonly AmqpConnectAttempt[]) {
    const refused = attempts.filter(({ condition }) => connectionConditionKind(condition) === 'configuration');
    super(
      attempts,
      `Could not connect to an AMQP broker: ${refused.map(({ url, reason }) => `${url}: ${reason}`).join('; ')}. ` +
        "Fix the messenger's username and password (or client certificate) or address (or the broker's users and permissions); " +
        'messages stay in the outbox meanwhile',
      { logged: true },
    );
  }
}

/**
 * How the broker (or the lack of an answer) settled one message:
 * `rejected`, `released`, `modified` (AMQP outcomes); `timeout` (no answer
 * within `sendTimeoutMs`); `link-refused` (the broker refused the link, or
 * ended it over this message); `link-detached` (the broker ended the link
 * over an earlier message, before settling this one, or ended it or its
 * session without an error or with a transient one such as
 * `amqp:link:detach-forced`); `address-refused` (the broker refused the
 * address itself for a reason an operator must fix, such as `amqp:not-found`
 * or `amqp:unauthorized-access`: not retryable, so delivery declares its
 * messages dead at once, reason `rejected`; the address is attached again no
 * sooner than `retryAt`); `link-limit` (`maxLinks` links were open, all busy: nothing was
 * sent); `connection-lost`.
 */
export type AmqpOutcome =
  | 'rejected'
  | 'released'
  | 'modified'
  | 'timeout'
  | 'link-refused'
  | 'link-detached'
  | 'address-refused'
  | 'link-limit'
  | 'connection-lost';

/** What the broker (or the lack of an answer) said about one message it did not accept. */
export interface AmqpRefusal {
  readonly messageId: string;
  readonly topic: string;
  readonly address: string;
  readonly outcome: AmqpOutcome;
  /** The broker's condition, such as `amqp:invalid-field`, when it gave one. */
  readonly condition?: string;
  readonly description: string;
  /** For `address-refused`: when the address is tried again, in ms since the epoch. */
  readonly retryAt?: number;
}

/**
 * One message the broker did not accept: what it said, and (as for any
 * messenger) a `reason` and whether the attempt is `counted`: not for
 * `connection-lost`, `link-detached`, `address-refused` and `link-limit`,
 * which are not the message's fault. `retryable` is `false` (dead at once,
 * reason `rejected`) for an address the broker refuses (`address-refused`)
 * and for a `rejected` outcome, or a link ended over this message
 * (`link-refused`), with a permanent condition (`amqp:decode-error`,
 * `amqp:invalid-field`, `amqp:not-allowed`, `amqp:not-implemented`,
 * `amqp:not-found`, `amqp:unauthorized-access`, `amqp:precondition-failed`:
 * RabbitMQ's over `max_message_size`, `amqp:link:message-size-exceeded`);
 * absent (retried) otherwise, such as `amqp:resource-limit-exceeded`.
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
    /** Whether the messenger has logged why the connection was lost (a refusal, at error level). */
    unavailableLogged = false,
  ) {
    const [first] = failures;
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    super(
      {
        acceptedIds,
        failures: failures.map(amqpDeliveryFailure),
        unavailable: failures.find(({ outcome }) => outcome === 'connection-lost')?.description,
        unavailableLogged,
      },
      `AMQP broker ${url} did not accept message ${first.messageId} on topic "${first.topic}" (address ${first.address}): ` +
        `${first.outcome}${first.condition ? ` ${first.condition}` : ''}: ${first.description}${more}`,
    );
  }
}

const UNCOUNTED = new Set<AmqpOutcome>(['connection-lost', 'link-detached', 'address-refused', 'link-limit']);

/**
 * Neither a lost connection, a refused address nor another message's fault counts against this one;
 * a refused address, or a refusal of the message with a permanent condition, is not worth retrying.
 */
function amqpDeliveryFailure(refusal: AmqpRefusal): AmqpDeliveryFailure {
  const { outcome, condition, description } = refusal;
  const failure = {
    ...refusal,
    reason: `${outcome}${condition ? ` ${condition}` : ''}: ${description}`,
    counted: !UNCOUNTED.has(outcome),
  };
  return isFinal(refusal) ? { ...failure, retryable: false } : failure;
}

function isFinal({ outcome, condition }: AmqpRefusal): boolean {
  if (outcome === 'address-refused') return true;
  return (outcome === 'rejected' || outcome === 'link-refused') && isPermanentMessageCondition(condition);
}
