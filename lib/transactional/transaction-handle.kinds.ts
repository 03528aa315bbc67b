import { mysql2Handle, pgHandle } from './client-handle.kinds.js';
import {
  drizzleHandle,
  knexHandle,
  kyselyHandle,
  mikroOrmHandle,
  prismaHandle,
  typeOrmHandle,
} from './orm-handle.kinds.js';
import type { TransactionHandleKind } from './transaction-handle.js';

/**
 * The transaction handles `TransactionalOutbox.add(tx, ...)` recognises, in the order it tries them
 * (ORM objects before the driver clients some of them resemble).
 */
export const TRANSACTION_HANDLE_KINDS: readonly TransactionHandleKind[] = [
  knexHandle,
  prismaHandle,
  mikroOrmHandle,
  kyselyHandle,
  typeOrmHandle,
  drizzleHandle,
  pgHandle,
  mysql2Handle,
];
