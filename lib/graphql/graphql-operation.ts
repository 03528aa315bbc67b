import type { Message } from '../kernel/message.interface.js';
import { MessageLimitError, MessagingContextError } from '../kernel/messaging.errors.js';
import type { OpenBatchCount } from '../request/message-batch.js';
import type { OperationScope } from '../request/operation-scope.interface.js';

/**
 * The messages of one GraphQL query or mutation: every resolver that succeeds hands its
 * (enriched) messages here; the operation's end takes them all at once, or drops them.
 */
export class GraphQLOperation implements OperationScope {
  private readonly messages: Message[] = [];
  private closed = false;
  private counted = false;

  /**
   * @param limit `maxMessagesPerRequest`: how many messages the whole operation may hold.
   * @param openBatches told when the operation first holds messages and when it ends: the
   *   shutdown drain waits for it in between.
   */
  constructor(
    private readonly limit: number,
    private readonly openBatches?: OpenBatchCount,
  ) {}

  /**
   * @throws MessageLimitError when the operation would hold more than `limit` messages.
   * @throws MessagingContextError when the operation already ended (a resolver outlived it).
   */
  collect(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    if (this.closed) {
      throw new MessagingContextError(
        `Cannot add messages on topic "${messages[0].topic}": their GraphQL operation already ended and sent its messages. ` +
          'Await the work inside the resolver.',
      );
    }
    if (this.messages.length + messages.length > this.limit) {
      throw new MessageLimitError(messages[0].topic, this.limit, 'this GraphQL operation');
    }
    this.messages.push(...messages);
    if (!this.counted) {
      this.counted = true;
      this.openBatches?.batchOpened();
    }
  }

  /** Closes the operation; returns the messages to send (all of them, or none when `send` is false). */
  end(send: boolean): readonly Message[] {
    if (this.counted && !this.closed) this.openBatches?.batchClosed();
    this.closed = true;
    return send ? this.messages : [];
  }
}

/**
 * Subscription resolvers run once per subscriber for every event: a message added there would be
 * sent once per subscriber. They may not add any.
 */
export const SUBSCRIPTION_SCOPE: OperationScope = {
  collect(messages) {
    if (messages.length === 0) return;
    throw new MessagingContextError(
      `Cannot add a message on topic "${messages[0].topic}" in a GraphQL subscription resolver (context type "graphql", ` +
        'operation "subscription"): it runs once per subscriber and event, so the message would be sent once per subscriber. ' +
        'Add it where the event happens (the mutation or service that publishes it), or wrap one-off work in messageQueue.run().',
    );
  },
};
