// The public API of nestjs-messaging. Everything else is internal.
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
export { EmitsMessage, type EmitsMessageOptions } from './request/emits-message.decorator.js';
export { DEFAULT_COMMENT_HEADER, defaultAuthorOf } from './request/message-enricher.js';
export { createMessage, type AddMessageOptions } from './kernel/message.factory.js';
export type { JsonObject, JsonValue, Message, MessageHeaders } from './kernel/message.interface.js';
export {
  InvalidTopicError,
  MessageSerializationError,
  MessagingContextError,
  MessagingError,
  MessagingOptionsError,
  MessengerUnavailableError,
} from './kernel/messaging.errors.js';
export { InjectMessenger, Messenger } from './kernel/messenger.interface.js';
export { LoggingMessenger } from './messengers/logging/logging.messenger.js';
export { FedmsgMessenger, type FedmsgStats } from './messengers/fedmsg/fedmsg.messenger.js';
export type { FedmsgMessengerOptions, FedmsgSigningOptions } from './messengers/fedmsg/fedmsg-options.interface.js';
export type { FedmsgEnvelope } from './messengers/fedmsg/fedmsg-envelope.js';
export { AmqpMessenger } from './messengers/amqp/amqp.messenger.js';
export { AMQP_ADDRESS, type AmqpMessengerOptions } from './messengers/amqp/amqp-options.interface.js';
export {
  AmqpConnectionError,
  AmqpSendError,
  type AmqpDeliveryFailure,
  type AmqpOutcome,
} from './messengers/amqp/amqp.errors.js';
export { canonicalJson as fedmsgCanonicalJson } from './messengers/fedmsg/canonical-json.js';
export { verifyFedmsgSignature, type FedmsgVerification } from './messengers/fedmsg/fedmsg-signature.js';
export {
  InjectOutboxStore,
  OutboxStore,
  isTransactionalOutboxStore,
  type ClaimRequest,
  type FailedAttempt,
  type OutboxCounts,
  type OutboxEntry,
  type OutboxFilter,
  type OutboxStatus,
  type PurgeOptions,
  type SqlStatement,
  type TransactionalOutboxStore,
} from './kernel/outbox-store.interface.js';
export type { OutboxStoreFactory, OutboxStoreOption } from './module/outbox-store.factory.js';
export { MemoryOutboxStore, type MemoryOutboxStoreOptions } from './stores/memory-outbox.store.js';
export { SqliteOutboxStore, type SqliteOutboxStoreOptions } from './stores/sqlite/sqlite-outbox.store.js';
export { PostgresOutboxStore, type PostgresOutboxStoreOptions } from './stores/postgres/postgres-outbox.store.js';
export { postgresOutboxSchema } from './stores/postgres/postgres-outbox.schema.js';
export {
  withTransactionalOutbox,
  type TransactionalAdapterLike,
  type TransactionalAdapterOptionsLike,
  type TransactionalOutboxOptions,
  type TransactionOf,
} from './transactional/with-transactional-outbox.js';
export {
  knexOutboxWriter,
  pgOutboxWriter,
  typeormOutboxWriter,
  type KnexTransactionLike,
  type OutboxTransactionWriter,
  type PgClientLike,
  type TypeOrmTransactionLike,
} from './transactional/outbox-transaction-writer.js';
export type { TransactionHostLike } from './transactional/transaction-scopes.js';
export type { DispatchOptions, RetryOptions } from './delivery/dispatch-options.interface.js';
export {
  OutboxAdmin,
  type OutboxPurgeFilter,
  type OutboxRetryFilter,
  type OutboxStats,
} from './delivery/outbox-admin.service.js';
export type { DispatchCounters } from './delivery/outbox.counters.js';
export { OutboxWriteError } from './kernel/outbox.errors.js';
export { CapturingMessenger } from './testing/capturing.messenger.js';
export { MessagingTestingModule } from './testing/messaging-testing.module.js';
