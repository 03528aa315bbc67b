import type { ExecutionContext } from '@nestjs/common';
import type { Message } from '../kernel/message.interface.js';
import { MessagingContextError } from '../kernel/messaging.errors.js';

const NO_MESSAGES: readonly Message[] = Object.freeze([]);

/**
 * The messages of one request (or one `MessageQueue.run()`): open while the
 * handler works, then either taken for sending or dropped, exactly once.
 */
export class MessageBatch {
  /** @param context the request's execution context; none for `MessageQueue.run()`. */
  constructor(readonly context?: ExecutionContext) {}

  // Allocated on the first add: most requests of most apps add nothing.
  private messages: Message[] | undefined;
  private state: 'open' | 'sent' | 'dropped' = 'open';

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** The messages added so far, in order. */
  get pending(): readonly Message[] {
    return this.messages ?? NO_MESSAGES;
  }

  add(message: Message): void {
    if (this.state !== 'open') {
      throw new MessagingContextError(
        `Cannot add a message on topic "${message.topic}": its request already ${this.state === 'sent' ? 'completed' : 'failed'}. ` +
          'Work that outlives a request must open its own context with MessageQueue.run(fn).',
      );
    }
    (this.messages ??= []).push(message);
  }

  /** Closes the batch and returns its messages for sending. */
  take(): readonly Message[] {
    this.state = 'sent';
    return this.messages ?? NO_MESSAGES;
  }

  /** Closes the batch and forgets its messages. Returns how many there were. */
  drop(): number {
    if (this.state === 'open') this.state = 'dropped';
    const count = this.messages?.length ?? 0;
    this.messages = undefined;
    return count;
  }
}
