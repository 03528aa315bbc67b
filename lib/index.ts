// The root entry point of nestjs-messaging: what an application writes (the module, the queue, the
// decorator, options, errors, and the Messenger and OutboxStore contracts with the default
// implementations). Each optional feature has its own entry point, so its peer dependency is loaded
// (and typed) only by the applications that use it:
//   nestjs-messaging/amqp, /fedmsg          messengers (rhea, zeromq)
//   nestjs-messaging/sqlite, /postgres      durable outbox stores (better-sqlite3, pg)
//   nestjs-messaging/transactional          messages in database transactions (@nestjs-cls/transactional)
//   nestjs-messaging/opentelemetry          traces and metrics (@opentelemetry/api)
//   nestjs-messaging/testing                CapturingMessenger, MessagingTestingModule
//   nestjs-messaging/node-support           the Node.js version check, importing nothing
// Everything else is internal.
export { MessagingModule } from './module/messaging.module.js';
export type {
  MessagingModuleAsyncOptions,
  MessagingModuleExtras,
  MessagingModuleForRootOptions,
} from './module/messaging.module-definition.js';
export type {
  DeliveryMode,
  MessageEnricher,
  MessengerFactory,
  MessengerOption,
  MessagingModuleOptions,
} from './module/messaging-options.interface.js';
export { MessageQueue } from './request/message-queue.service.js';
export { TransactionalOutbox } from './request/transactional-outbox.service.js';
export { EmitsMessage, type EmitsMessageOptions } from './request/emits-message.decorator.js';
export { DEFAULT_COMMENT_HEADER, defaultAuthorOf } from './request/message-enricher.js';
export { createMessage, type AddMessageOptions } from './kernel/message.factory.js';
export type { JsonObject, JsonValue, Message, MessageHeaders } from './kernel/message.interface.js';
export {
  InvalidTopicError,
  MessageLimitError,
  MessageSerializationError,
  MessagingContextClosedError,
  MessagingContextError,
  MessagingError,
  MessagingOptionsError,
  MessengerUnavailableError,
  NonRetryableMessageError,
  NotInTransactionError,
} from './kernel/messaging.errors.js';
export {
  MessengerSendError,
  type MessageSendFailure,
  type MessengerSendReport,
} from './kernel/messenger-send.error.js';
export { InjectMessenger, Messenger } from './kernel/messenger.interface.js';
export { LoggingMessenger } from './messengers/logging/logging.messenger.js';
export {
  ATTEMPT_HISTORY_LIMIT,
  InjectOutboxStore,
  OutboxStore,
  type AppendOptions,
  type AttemptRecord,
  type ClaimRequest,
  type DeadReason,
  type FailedAttempt,
  type OutboxAdminStore,
  type OutboxCounts,
  type OutboxDeliveryStore,
  type OutboxEntry,
  type OutboxFilter,
  type OutboxStatus,
  type PurgeOptions,
  type TakenOverLeases,
} from './kernel/outbox-store.interface.js';
export type { OutboxStoreFactory, OutboxStoreOption } from './module/outbox-store.factory.js';
export { MemoryOutboxStore, type MemoryOutboxStoreOptions } from './stores/memory-outbox.store.js';
export type {
  BackoffFunction,
  BackoffOptions,
  DispatchOptions,
  OnKeyFailure,
  OrderingOptions,
  RetryIf,
  RetryOptions,
} from './delivery/dispatch-options.interface.js';
export { OutboxAdmin, type OutboxStats } from './delivery/outbox-admin.service.js';
// eslint-disable-next-line @typescript-eslint/no-deprecated -- kept for applications written before requeue()
export type { OutboxRetryFilter } from './delivery/outbox-admin.service.js';
export {
  EmptyOutboxFilterError,
  type OutboxListFilter,
  type OutboxPurgeFilter,
  type OutboxRequeueFilter,
  type OutboxSelection,
} from './kernel/outbox-selection.js';
export type { DispatchCounters } from './delivery/outbox.counters.js';
export {
  DeliveryChannelNames,
  type AttemptFailedEvent,
  type BatchSendEvent,
  type DeliveryPausedEvent,
  type DeliveryResumedEvent,
  type LeaseEvent,
  type MessageAcceptedEvent,
  type MessageDeadEvent,
  type MessageDeliveredEvent,
} from './kernel/delivery-events.js';
export type { MessengerState, MessengerStatus, StatefulMessenger } from './kernel/messenger-state.js';
export { OutboxClosedError, OutboxFullError, OutboxWriteError } from './kernel/outbox.errors.js';
