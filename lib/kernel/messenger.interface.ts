import { Inject } from '@nestjs/common';
import type { Message } from './message.interface.js';

/**
 * Sends batches of messages to a message bus. Implement it to plug in your
 * own bus; the library ships `LoggingMessenger` (the default),
 * `CapturingMessenger` for tests, and broker messengers.
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
   * Sends one batch, in order. Resolves when the bus has taken every
   * message; rejects if any of them could not be sent. The dispatcher forms
   * the batches (they may hold several requests' messages) and retries what
   * fails: throw `MessengerUnavailableError` when the bus cannot be reached
   * at all, so that the attempt is not counted against the messages.
   */
  send(messages: readonly Message[]): Promise<void>;
}

/** Injection token of the configured `Messenger`: `@Inject(Messenger)` or `@InjectMessenger()`. */
export const Messenger: unique symbol = Symbol('nestjs-messaging:Messenger');

/** Injects the messenger the module was configured with. */
export const InjectMessenger = (): PropertyDecorator & ParameterDecorator => Inject(Messenger);
