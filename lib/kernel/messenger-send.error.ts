import { MessagingError } from './messaging.errors.js';

/** One message of a batch that a `send()` did not get onto the bus. */
export interface MessageSendFailure {
  /** `Message.id` of the message. */
  readonly messageId: string;
  /** Why it was not sent, in words for the log and the message's last error. */
  readonly reason: string;
  /**
   * Whether this counts as one of the message's attempts (toward
   * `dispatch.retry.maxAttempts`). `true` when the bus refused this message
   * (too large, invalid, not settled in time); `false` when it was not the
   * message's fault: the connection was lost, or the bus ended the link over
   * another message. Either way the message is sent again later.
   */
  readonly counted: boolean;
  /**
   * Not before this time (ms since the epoch) is the message sent again.
   * For a failure an operator must fix, such as an address the bus refuses:
   * without it, an uncounted failure is due again at once. Default: unset.
   */
  readonly retryAt?: number;
  /**
   * `false` when sending the message again cannot succeed (the bus refused it
   * for good: too large, malformed, an address it refuses): delivery declares
   * it dead at once, with dead reason `rejected` and `reason` as its last
   * error, without consulting `dispatch.retry.retryIf`. The attempt then
   * counts whatever `counted` says, and `retryAt` is ignored.
   * Default: `true` (retried on the retry schedule).
   */
  readonly retryable?: boolean;
}

/** What a messenger knows about a batch it could not send in full: the argument of `MessengerSendError`. */
export interface MessengerSendReport {
  /** Ids of the messages of the batch the bus has taken. */
  readonly acceptedIds: readonly string[];
  /** One entry per message of the batch the bus has not taken. */
  readonly failures: readonly MessageSendFailure[];
  /**
   * Set, to the reason, when the bus became unreachable during the send (a
   * lost connection): delivery then pauses as a whole and probes the bus,
   * as after a `MessengerUnavailableError`. Default: unset.
   */
  readonly unavailable?: string;
  /**
   * Whether the messenger has already logged why the bus is unreachable (at
   * error level, such as a refused login): delivery then does not log it
   * again as a warning. Default: `false`.
   */
  readonly unavailableLogged?: boolean;
}

/**
 * `send()` got part of a batch onto the bus, or none of it, and can say
 * which: throw it to report partial success. Delivery marks `acceptedIds`
 * delivered, retries each of `failures` (counting the attempt only when
 * `counted` is true) unless it says `retryable: false` (then dead at once,
 * reason `rejected`), and pauses when `unavailable` is set.
 *
 * A message of the batch named in neither list is treated as failed, counted
 * unless `unavailable` is set; one named in both as failed (it is sent again:
 * at-least-once). Ids that are not in the batch are ignored.
 * `AmqpSendError` is one kind of it.
 *
 * @example
 * ```ts
 * throw new MessengerSendError({
 *   acceptedIds: [first.id],
 *   failures: [{ messageId: second.id, reason: 'payload too large (413)', counted: true }],
 * });
 * ```
 */
export class MessengerSendError extends MessagingError {
  /** Ids of the messages of the batch the bus has taken. */
  readonly acceptedIds: readonly string[];
  /** One entry per message of the batch the bus has not taken. */
  readonly failures: readonly MessageSendFailure[];
  /** Why the bus is unreachable, when it became so during the send; else `undefined`. */
  readonly unavailable: string | undefined;
  /** Whether the messenger has already logged why the bus is unreachable. */
  readonly unavailableLogged: boolean;

  /**
   * @param report what was and was not sent.
   * @param message the error's message. Default: the number of messages not
   *   sent and the first one's id and reason.
   */
  constructor(report: MessengerSendReport, message?: string, options?: ErrorOptions) {
    super(message ?? describeReport(report), options);
    this.acceptedIds = report.acceptedIds;
    this.failures = report.failures;
    this.unavailable = report.unavailable;
    this.unavailableLogged = report.unavailableLogged ?? false;
  }
}

function describeReport({ acceptedIds, failures, unavailable }: MessengerSendReport): string {
  const total = acceptedIds.length + failures.length;
  const [first] = failures as readonly (MessageSendFailure | undefined)[];
  const detail = first ? `: message ${first.messageId}: ${first.reason}` : '';
  const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
  const bus = unavailable === undefined ? '' : `; the bus is unreachable (${unavailable})`;
  return `The messenger did not send ${failures.length} of ${total} message(s)${detail}${more}${bus}`;
}
