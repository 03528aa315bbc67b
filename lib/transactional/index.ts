// `nestjs-messaging/transactional`: messages that commit and roll back with a database transaction
// (`@nestjs-cls/transactional` and a store that can join transactions, such as `PostgresOutboxStore`).
export {
  withTransactionalOutbox,
  type TransactionalAdapterLike,
  type TransactionalOutboxOptions,
  type TransactionOf,
} from './with-transactional-outbox.js';
export {
  knexOutboxWriter,
  pgOutboxWriter,
  typeormOutboxWriter,
  type KnexTransactionLike,
  type OutboxTransactionWriter,
  type PgClientLike,
  type TypeOrmTransactionLike,
} from './outbox-transaction-writer.js';
export type { TransactionHostLike } from './connection-transactions.js';
export {
  isTransactionalOutboxStore,
  type SqlPlaceholders,
  type SqlStatement,
  type TransactionalOutboxStore,
} from '../kernel/outbox-store.interface.js';
