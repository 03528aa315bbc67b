// The public API of nestjs-messaging. Everything else is internal.
export { MessagingModule } from './core/messaging.module.js';
export type {
  MessagingModuleAsyncOptions,
  MessagingModuleExtras,
  MessagingModuleForRootOptions,
} from './core/messaging.module-definition.js';
export type {
  DeliveryMode,
  MessageEnricher,
  MessengerFactory,
  MessengerOption,
  MessagingModuleOptions,
} from './core/messaging-options.interface.js';
export { MessageQueue } from './core/message-queue.service.js';
export { EmitsMessage, type EmitsMessageOptions } from './core/emits-message.decorator.js';
export { DEFAULT_COMMENT_HEADER, defaultAuthorOf } from './core/message-enricher.js';
export { createMessage, type AddMessageOptions } from './core/message.factory.js';
export type { JsonObject, JsonValue, Message, MessageHeaders } from './core/message.interface.js';
export {
  InvalidTopicError,
  MessageSerializationError,
  MessagingContextError,
  MessagingError,
  MessagingOptionsError,
} from './core/messaging.errors.js';
export { InjectMessenger, Messenger } from './messengers/messenger.interface.js';
export { LoggingMessenger } from './messengers/logging/logging.messenger.js';
export { CapturingMessenger } from './testing/capturing.messenger.js';
export { MessagingTestingModule } from './testing/messaging-testing.module.js';
