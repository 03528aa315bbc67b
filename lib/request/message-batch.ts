import type { ExecutionContext } from '@nestjs/common';
import type { JsonObject, Message } from '../kernel/message.interface.js';
import { MessageLimitError, MessagingContextClosedError } from '../kernel/messaging.errors.js';

const NO_MESSAGES: readonly Message[] = Object.freeze([]);

/** What the request side reads of the module's resolved options (internal). */
export interface RequestBatchConfig {
  /** `maxMessagesPerRequest`, default applied. */
  readonly maxMessagesPerRequest: number;
}

/** Counts open batches (`Outbox`): the shutdown drain waits until none is open. */
export interface OpenBatchCount {
  batchOpened(): void;
  batchClosed(): void;
}

/**
 * The messages of one request (or one `MessageQueue.run()`): open while the
 * handler works, then either taken for sending or dropped, exactly once.
 * Once closed it refuses every `add()`: a message added by work that
 * outlived its request is an error at the call, never a silent loss.
 */
export class MessageBatch {
  /**
   * @param limit how many messages it may hold (`maxMessagesPerRequest`).
   * @param context the request's execution context; none for `MessageQueue.run()`.
   * @param openBatches told when the batch opens (now) and when it is taken or dropped (once).
   */
  constructor(
    readonly limit: number,
    readonly context?: ExecutionContext,
    private readonly openBatches?: OpenBatchCount,
  ) {
    openBatches?.batchOpened();
  }

  // Allocated on the first add: most requests of most apps add nothing.
  private messages: Message[] | undefined;
  private state: 'open' | 'sent' | 'dropped' = 'open';
  // The request's enrichment: computed at the first message, `null` when none applies.
  private fields: Readonly<JsonObject> | null | undefined;

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** The messages added so far, in order. */
  get pending(): readonly Message[] {
    return this.messages ?? NO_MESSAGES;
  }

  /**
   * The fields every message of this batch gets (the request's enrichment), from `compute` at the
   * first call, then remembered: `undefined` when none apply.
   */
  enrichment(compute: (context: ExecutionContext) => Readonly<JsonObject> | null): Readonly<JsonObject> | undefined {
    if (this.fields === undefined) this.fields = this.context === undefined ? null : compute(this.context);
    return this.fields ?? undefined;
  }

  /**
   * @throws MessagingContextClosedError once the batch was taken or dropped.
   * @throws MessageLimitError when it already holds `limit` messages.
   */
  add(message: Message): void {
    if (this.state !== 'open') throw this.closedError(message.topic);
    const messages = (this.messages ??= []);
    if (messages.length >= this.limit) {
      throw new MessageLimitError(
        message.topic,
        this.limit,
        this.context === undefined ? 'this run()' : 'this request',
      );
    }
    messages.push(message);
  }

  /** Closes the batch and returns its messages for sending. */
  take(): readonly Message[] {
    if (this.state === 'open') this.openBatches?.batchClosed();
    this.state = 'sent';
    return this.messages ?? NO_MESSAGES;
  }

  /** Closes the batch and forgets its messages. Returns how many there were. */
  drop(): number {
    if (this.state === 'open') {
      this.state = 'dropped';
      this.openBatches?.batchClosed();
    }
    const count = this.messages?.length ?? 0;
    this.messages = undefined;
    return count;
  }

  private closedError(topic: string): MessagingContextClosedError {
    const what = this.context === undefined ? 'its MessageQueue.run()' : 'its request';
    const how = this.state === 'sent' ? 'already completed and its messages went to the outbox' : 'already failed';
    return new MessagingContextClosedError(
      topic,
      `${what} ${how}. Await this work inside the handler (or run() callback), or let work that outlives it ` +
        'open its own context with MessageQueue.run(fn).',
    );
  }
}
