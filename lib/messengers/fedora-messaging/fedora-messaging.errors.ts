import { MessengerSendError, type MessageSendFailure } from '../../kernel/messenger-send.error.js';
import { MessengerUnavailableError } from '../../kernel/messaging.errors.js';

/** One broker tried while connecting, and why it did not open. */
export interface FedoraMessagingConnectAttempt {
  /** The broker URL, password as `***`. */
  readonly url: string;
  /** The broker's or the TLS layer's words. */
  readonly reason: string;
  /** `403` when the broker refused the login (ACCESS_REFUSED), `tls` when TLS verification failed. */
  readonly condition?: string;
}

/**
 * No broker could be connected to: every URL tried and why. With `refused`
 * set, a broker refused the login (wrong password, unknown certificate user:
 * `403` ACCESS_REFUSED) or TLS verification failed: an operator must fix it;
 * the messenger logged it at error level and retries every `reconnectDelayMaxMs`.
 * Delivery keeps the messages and counts no attempt.
 */
export class FedoraMessagingConnectionError extends MessengerUnavailableError {
  constructor(
    /** One entry per URL tried, in the order tried. */
    readonly attempts: readonly FedoraMessagingConnectAttempt[],
    /** Whether a broker refused the connection for a reason an operator must fix. */
    readonly refused: boolean,
  ) {
    super(
      `Could not connect to a fedora-messaging broker: ${attempts.map(({ url, reason }) => `${url}: ${reason}`).join('; ')}`,
      { logged: refused },
    );
  }
}

/**
 * What became of one message the broker did not confirm:
 * `nack` (the broker refused it); `returned` (unroutable: no queue bound for
 * its routing key, reported because of `mandatory`); `channel-closed` (the
 * broker closed the channel, over this message, such as 403 ACCESS_REFUSED
 * for a topic outside the user's permitted ones, or over another message of
 * the channel); `timeout` (no confirm within `sendTimeoutMs`);
 * `connection-lost`; `invalid` (the message cannot be put in the wire format:
 * reserved header, severity outside 10/20/30/40, `filters` threw).
 */
export type FedoraMessagingOutcome = 'nack' | 'returned' | 'channel-closed' | 'timeout' | 'connection-lost' | 'invalid';

/**
 * One message of a batch the broker did not confirm, and why. `retryable` is
 * `false` (delivery declares it dead at once, reason `rejected`, with the
 * broker's reply in `reason`) for `invalid`, `returned`, and `channel-closed`
 * with `403` ACCESS_REFUSED on its own routing key (topic permissions) or on
 * the exchange, `404` NOT_FOUND (no such exchange), or `406` over
 * `max_message_size` for the message of the size named; absent (retried) for
 * `nack`, `timeout`, `connection-lost` and any other closure, such as a 403
 * over another message's topic.
 */
export interface FedoraMessagingFailure extends MessageSendFailure {
  readonly topic: string;
  readonly routingKey: string;
  readonly outcome: FedoraMessagingOutcome;
  /** The broker's reply, such as `403 (ACCESS-REFUSED) ACCESS_REFUSED - write access to topic ...` or `312 NO_ROUTE`. */
  readonly reply: string;
}

/**
 * `send()` could not get every message of a batch confirmed. Names the
 * first failure (topic, message id, routing key, broker URL, the broker's
 * reply) and carries all of them with the ids the broker did confirm. A
 * lost connection sets `unavailable`; a message the broker closed the
 * channel over, nacked, returned or did not confirm in time counts as an
 * attempt; one caught up in another message's channel closure does not.
 * What the broker refuses for good is not retryable (see `FedoraMessagingFailure`).
 */
export class FedoraMessagingSendError extends MessengerSendError {
  declare readonly failures: readonly FedoraMessagingFailure[];

  constructor(
    /** The broker the batch was sent to, password as `***`. */
    readonly url: string,
    failures: readonly FedoraMessagingFailure[],
    acceptedIds: readonly string[],
    /** Why the bus cannot take messages now, when the broker blocked the connection (a resource alarm). */
    blocked?: string,
  ) {
    const [first] = failures;
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    super(
      {
        acceptedIds,
        failures,
        unavailable: failures.find(({ outcome }) => outcome === 'connection-lost')?.reply ?? blocked,
        unavailableLogged: blocked !== undefined,
      },
      `fedora-messaging broker ${url} did not confirm message ${first.messageId} on topic "${first.topic}" ` +
        `(routing key ${first.routingKey}): ${first.outcome}: ${first.reply}${more}`,
    );
  }
}
