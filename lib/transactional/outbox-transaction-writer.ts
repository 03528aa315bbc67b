import type { SqlStatement } from '../kernel/outbox-store.interface.js';
import { drizzleSql } from './drizzle-statement.js';
import { placeholdersAs } from './transaction-handle.js';

/**
 * Runs the outbox insert on a transaction object of one ORM or query
 * builder (what `TransactionHost.tx` is for its `@nestjs-cls/transactional`
 * adapter), so the row commits and rolls back with the application's change.
 */
export type OutboxTransactionWriter<TTx> = (tx: TTx, statement: SqlStatement) => Promise<unknown>;

/** What the TypeORM writer needs of `TransactionHost.tx`: TypeORM's `EntityManager`. */
export interface TypeOrmTransactionLike {
  query(query: string, parameters?: unknown[]): Promise<unknown>;
}

/** What the Knex writer needs of `TransactionHost.tx`: a `Knex.Transaction`. */
export interface KnexTransactionLike {
  raw(sql: string, bindings: readonly unknown[]): PromiseLike<unknown>;
}

/** What the node-postgres writer needs of `TransactionHost.tx`: a `pg` `PoolClient` or `Client`. */
export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/** Writes through TypeORM's transactional `EntityManager` (`@nestjs-cls/transactional-adapter-typeorm`). */
export const typeormOutboxWriter: OutboxTransactionWriter<TypeOrmTransactionLike> = (manager, { text, values }) =>
  manager.query(text, [...values]);

/** Writes through a Knex transaction (`@nestjs-cls/transactional-adapter-knex`). */
export const knexOutboxWriter: OutboxTransactionWriter<KnexTransactionLike> = async (trx, statement) =>
  // Knex binds `?` whatever the database.
  trx.raw(placeholdersAs('question', statement), statement.values);

/** Writes through a node-postgres client that holds the transaction (`@nestjs-cls/transactional-adapter-pg`). */
export const pgOutboxWriter: OutboxTransactionWriter<PgClientLike> = (client, statement) =>
  client.query(placeholdersAs('dollar', statement), [...statement.values]);

/** What the Drizzle writer needs of `TransactionHost.tx`: a Drizzle transaction (node-postgres, mysql2, ...). */
export interface DrizzleTransactionLike {
  execute(query: never): PromiseLike<unknown>;
}

/**
 * Writes through a Drizzle transaction (`@nestjs-cls/transactional-adapter-drizzle-orm`), with Drizzle's
 * own `sql` template, so the parameters are bound in the database's style. Loads `drizzle-orm` at the first write.
 */
export const drizzleOutboxWriter: OutboxTransactionWriter<DrizzleTransactionLike> = async (tx, statement) =>
  tx.execute((await drizzleSql(statement)) as never);
