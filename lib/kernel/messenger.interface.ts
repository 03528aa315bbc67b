import { Inject } from '@nestjs/common';
import type { Message } from './message.interface.js';

/**
 * Sends batches of messages to a message bus. Implement it to plug in your
 * own bus; the library ships `LoggingMessenger` (the default),
 * `CapturingMessenger` for tests, and broker messengers.
 *
 * What delivery relies on (every shipped messenger passes one contract test):
 *
 * - **Concurrency.** `send()` may be called again before an earlier call
 *   settled: several batches are in flight at once, but never two that share
 *   a topic. Do not serialise all sends unless the transport needs it.
 * - **Order.** A batch holds its messages in acceptance order per topic (it
 *   may mix topics, and several requests' messages). Put each topic's
 *   messages on the bus in that order; order across topics is free.
 * - **Resolving** means the bus has taken every message of the batch (for
 *   a bus without acknowledgements: handed to it). Delivery then marks
 *   them delivered.
 * - **Partial success.** Throw `MessengerSendError` naming the accepted ids
 *   and, per other message, a reason and whether the attempt is `counted`
 *   (false when it is not that message's fault). `AmqpSendError` is one.
 * - **Unreachable bus.** Throw `MessengerUnavailableError` (or a subclass)
 *   when nothing reached the bus: no attempt is counted and delivery pauses
 *   as a whole, probing the bus with backoff. Any other error counts as a
 *   failed attempt of every message of the batch.
 * - **Timeout.** A `send()` that has not settled within
 *   `dispatch.sendTimeoutMs` (default: ¾ of `dispatch.leaseMs`) counts as
 *   one failed attempt of every message of the batch; its later result is
 *   ignored. Settle by your own timeout, shorter than that, to report per
 *   message.
 * - **Duplicates.** Delivery is at-least-once: after a timeout, a lost
 *   connection or a crash, messages are sent again with the same
 *   `Message.id`. Do not drop a message because its id was seen before
 *   unless the bus deduplicates on purpose; consumers deduplicate by id.
 *
 * A messenger may also implement Nest lifecycle hooks (`onModuleInit`,
 * `onApplicationBootstrap`, `onModuleDestroy`, `beforeApplicationShutdown`,
 * `onApplicationShutdown`): connect in the first, close in the last.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class HttpWebhookMessenger implements Messenger {
 *   async send(messages: readonly Message[]): Promise<void> {
 *     await fetch('https://hooks.example.com', { method: 'POST', body: JSON.stringify(messages) });
 *   }
 * }
 * MessagingModule.forRoot({ messenger: HttpWebhookMessenger });
 * ```
 */
export interface Messenger {
  /**
   * Sends one batch: each topic's messages in the order given. Resolves when
   * the bus has taken every message.
   *
   * @throws MessengerSendError when some messages were taken and others not,
   *   or to say per message whether the attempt counts.
   * @throws MessengerUnavailableError when the bus could not be reached: not counted.
   * @throws Error any other error: a failed attempt of every message of the batch.
   */
  send(messages: readonly Message[]): Promise<void>;
}

/** Injection token of the configured `Messenger`: `@Inject(Messenger)` or `@InjectMessenger()`. */
export const Messenger: unique symbol = Symbol('nestjs-messaging:Messenger');

/** Injects the messenger the module was configured with. */
export const InjectMessenger = (): PropertyDecorator & ParameterDecorator => Inject(Messenger);
