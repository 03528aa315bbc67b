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
  MessengerUnavailableError,
} from './core/messaging.errors.js';
export { InjectMessenger, Messenger } from './messengers/messenger.interface.js';
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
} from './reliability/outbox-store.interface.js';
export type { OutboxStoreFactory, OutboxStoreOption } from './reliability/outbox-store.factory.js';
export { MemoryOutboxStore, type MemoryOutboxStoreOptions } from './reliability/stores/memory-outbox.store.js';
export { SqliteOutboxStore, type SqliteOutboxStoreOptions } from './reliability/stores/sqlite/sqlite-outbox.store.js';
export {
  PostgresOutboxStore,
  type PostgresOutboxStoreOptions,
} from './reliability/stores/postgres/postgres-outbox.store.js';
export { postgresOutboxSchema } from './reliability/stores/postgres/postgres-outbox.schema.js';
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
export type { DispatchOptions, RetryOptions } from './reliability/dispatch-options.interface.js';
export {
  OutboxAdmin,
  type OutboxPurgeFilter,
  type OutboxRetryFilter,
  type OutboxStats,
} from './reliability/outbox-admin.service.js';
export type { DispatchCounters } from './reliability/outbox-dispatcher.service.js';
export { OutboxWriteError } from './reliability/outbox.errors.js';
export { CapturingMessenger } from './testing/capturing.messenger.js';
export { MessagingTestingModule } from './testing/messaging-testing.module.js';
