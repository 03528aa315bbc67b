import type { Message } from '../../kernel/message.interface.js';
import { MessengerSendError, type MessageSendFailure } from '../../kernel/messenger-send.error.js';

/** zeromq.js error codes meaning the socket is gone: nothing more can be sent on it. */
const CLOSED_CODES = new Set(['EBADF', 'ETERM', 'ENOTSOCK']);

/** Whether a zeromq.js send error means the socket is closed (rather than refusing this one message). */
export function isSocketClosedError(error: unknown): boolean {
  return CLOSED_CODES.has(String((error as { code?: unknown } | undefined)?.code));
}

/**
 * zeromq.js error codes after which the same frames may well be taken later:
 * the send queue was full (`EAGAIN`: the high-water mark, with a send timeout
 * of 0), interrupted, or busy with another send.
 */
const TRANSIENT_CODES = new Set(['EAGAIN', 'EINTR', 'EBUSY']);

/** Whether a zeromq.js send error on an open socket may pass on a later try (else the frames cannot be sent). */
export function isTransientSendError(error: unknown): boolean {
  return TRANSIENT_CODES.has(String((error as { code?: unknown } | undefined)?.code));
}

/** The error's message, or the value in words. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What one batch did not get onto the socket, built only once something
 * failed (the usual batch allocates nothing). Keeps each topic's order: once
 * a message of a topic is not sent, the later ones of that topic in the
 * batch are not sent either (not counted), so a retry cannot put them
 * behind their successors.
 */
export class FedmsgSendReport {
  private readonly failures: MessageSendFailure[] = [];
  private readonly failedIds = new Set<string>();
  private readonly stoppedTopics = new Set<string>();
  private unavailable: string | undefined;

  constructor(private readonly messages: readonly Message[]) {}

  /** Whether `message` must not be sent because an earlier one of its topic was not. */
  holdsBack(message: Message): boolean {
    if (!this.stoppedTopics.has(message.topic)) return false;
    this.add(message, `not sent: an earlier message on topic '${message.topic}' of the batch was not sent`, false);
    return true;
  }

  /**
   * `message` was not sent; `counted` when it is the message's own fault. `retryable` false when
   * sending it again cannot succeed (it cannot be encoded or signed, the socket refused its frames
   * for good): delivery declares it dead at once, reason `rejected`. Default: `true`.
   */
  fail(message: Message, reason: string, counted: boolean, retryable = true): void {
    this.add(message, reason, counted, retryable);
    this.stoppedTopics.add(message.topic);
  }

  /** The socket is gone: `message` and every later one of the batch are not sent, none counted. */
  stop(from: number, reason: string): void {
    this.unavailable = reason;
    for (const message of this.messages.slice(from)) this.add(message, `not sent: ${reason}`, false);
  }

  /** Number of messages of the batch not sent. */
  get failed(): number {
    return this.failures.length;
  }

  /** The error `send()` throws: the messages handed to the socket, and why each other one was not. */
  toError(): MessengerSendError {
    const acceptedIds = this.messages.filter(({ id }) => !this.failedIds.has(id)).map(({ id }) => id);
    const report = { acceptedIds, failures: this.failures };
    return new MessengerSendError(
      this.unavailable === undefined ? report : { ...report, unavailable: this.unavailable },
    );
  }

  private add(message: Message, reason: string, counted: boolean, retryable = true): void {
    if (this.failedIds.has(message.id)) return;
    this.failedIds.add(message.id);
    const failure = { messageId: message.id, reason, counted };
    this.failures.push(retryable ? failure : { ...failure, retryable: false });
  }
}
