// `nestjs-messaging/transactional`: messages that commit and roll back with a database transaction
// (`@nestjs-cls/transactional` and a store that can join transactions, such as `PostgresOutboxStore`).
export {
  withTransactionalOutbox,
  type TransactionalAdapterLike,
  type TransactionalOutboxOptions,
  type TransactionOf,
} from './with-transactional-outbox.js';
export {
  drizzleOutboxWriter,
  knexOutboxWriter,
  pgOutboxWriter,
  typeormOutboxWriter,
  type DrizzleTransactionLike,
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
export type { TransactionHandle, TransactionHandleKind } from './transaction-handle.js';
export { TRANSACTION_HANDLE_KINDS } from './transaction-handle.kinds.js';
export type { Mysql2HandleLike, PgHandleLike } from './client-handle.kinds.js';
export type {
  DrizzleHandleLike,
  KnexHandleLike,
  KyselyHandleLike,
  MikroOrmHandleLike,
  PrismaHandleLike,
  TypeOrmHandleLike,
} from './orm-handle.kinds.js';
