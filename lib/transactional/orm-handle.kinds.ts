import type { SqlStatement } from '../kernel/outbox-store.interface.js';
import { mysql2Handle, pgHandle } from './client-handle.kinds.js';
import { drizzleSql } from './drizzle-statement.js';
import { hasMethod, placeholdersAs, type TransactionHandleKind } from './transaction-handle.js';

/** What the explicit-transaction API needs of a Knex transaction (`trx`), or sees of a Knex instance. */
export interface KnexHandleLike {
  (...args: never[]): unknown;
  raw(sql: string, bindings: readonly unknown[]): PromiseLike<unknown>;
  readonly isTransaction?: boolean;
  isCompleted?(): boolean;
  readonly executionPromise?: Promise<unknown>;
  readonly parentTransaction?: KnexHandleLike;
  /** Rolls the transaction (or savepoint) back; replaced by `onCommit` to see that it was called. */
  rollback?: (error?: unknown) => unknown;
}

/** What the explicit-transaction API needs of a Kysely `Transaction` / `ControlledTransaction` (or sees of `Kysely`). */
export interface KyselyHandleLike {
  readonly isTransaction: boolean;
  readonly isCommitted?: boolean;
  readonly isRolledBack?: boolean;
  executeQuery(query: never): Promise<unknown>;
}

/** What the explicit-transaction API needs of a MikroORM `EntityManager` (`@mikro-orm/postgresql`, `/mariadb`, ...). */
export interface MikroOrmHandleLike {
  isInTransaction(): boolean;
  execute(sql: string, params: unknown[], method: 'run'): Promise<unknown>;
}

/** What the explicit-transaction API needs of Prisma's interactive-transaction client (or sees of `PrismaClient`). */
export interface PrismaHandleLike {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
}

/** What the explicit-transaction API needs of a TypeORM `EntityManager` or `QueryRunner`. */
export interface TypeOrmHandleLike {
  query(query: string, parameters?: unknown[]): Promise<unknown>;
  /** The `EntityManager`'s query runner (`undefined` for `dataSource.manager`). */
  readonly queryRunner?: { readonly isTransactionActive: boolean };
  /** A `QueryRunner`'s own flag. */
  readonly isTransactionActive?: boolean;
}

/** What the explicit-transaction API needs of a Drizzle transaction (`tx`), or sees of a Drizzle database. */
export interface DrizzleHandleLike {
  execute(query: never): PromiseLike<unknown>;
  rollback?(): never;
  /** The driver's connection the transaction runs on (node-postgres, mysql2), asked whether it still is in one. */
  readonly session?: { readonly client?: unknown };
}

/** Knex: `trx` of `knex.transaction()`, nested ones (savepoints) included; its commit is observed. */
export const knexHandle: TransactionHandleKind<KnexHandleLike> = {
  name: 'Knex',
  matches: (handle): handle is KnexHandleLike =>
    typeof handle === 'function' && hasMethod(handle, 'raw') && 'client' in handle,
  notInTransaction: (trx) => {
    if (trx.isTransaction !== true) {
      return 'a Knex instance (its pool): pass the trx of knex.transaction(async (trx) => ...).';
    }
    return trx.isCompleted?.() === true ? 'a Knex transaction that already committed or rolled back.' : undefined;
  },
  write: (trx, statement) => Promise.resolve(trx.raw(placeholdersAs('question', statement), statement.values)),
  onCommit: (trx, committed) => {
    // Committed when this transaction and every one around it (savepoints released, the outermost
    // committed) resolved, and none of them rolled back: Knex also resolves executionPromise when
    // rollback() is called without an error (doNotRejectOnRollback, its default).
    const chain: Promise<unknown>[] = [];
    const levels: KnexRollbackWatch[] = [];
    for (let level: KnexHandleLike | undefined = trx; level !== undefined; level = level.parentTransaction) {
      if (level.executionPromise === undefined) return false;
      chain.push(level.executionPromise);
      levels.push(rollbackWatch(level));
    }
    Promise.all(chain).then(
      () => {
        if (!levels.some(({ rolledBack }) => rolledBack)) committed();
      },
      () => undefined,
    );
    return true;
  },
};

/** Whether a Knex transaction (or savepoint) was rolled back. */
interface KnexRollbackWatch {
  rolledBack: boolean;
}

const knexRollbacks = new WeakMap<KnexHandleLike, KnexRollbackWatch>();

/**
 * Watches `trx.rollback()`, once per transaction: Knex calls it too when the callback throws, and
 * an application calls it to roll back without an error, which Knex reports as a resolved
 * `executionPromise`, like a commit.
 */
function rollbackWatch(trx: KnexHandleLike): KnexRollbackWatch {
  const known = knexRollbacks.get(trx);
  if (known !== undefined) return known;
  const watch: KnexRollbackWatch = { rolledBack: false };
  const rollback = trx.rollback;
  if (rollback !== undefined) {
    trx.rollback = (error?: unknown): unknown => {
      watch.rolledBack = true;
      return rollback.call(trx, error);
    };
  }
  knexRollbacks.set(trx, watch);
  return watch;
}

let queries = 0;

/** Kysely: `trx` of `db.transaction().execute()` or `db.startTransaction().execute()` (and its savepoints). */
export const kyselyHandle: TransactionHandleKind<KyselyHandleLike> = {
  name: 'Kysely',
  matches: (handle): handle is KyselyHandleLike =>
    typeof (handle as Partial<KyselyHandleLike>).isTransaction === 'boolean' &&
    hasMethod(handle, 'executeQuery') &&
    hasMethod(handle, 'selectFrom'),
  notInTransaction: (trx) => {
    if (!trx.isTransaction) {
      return (
        'a Kysely instance (its pool, or db.connection()): pass the trx of db.transaction().execute(async (trx) => ...) ' +
        'or of db.startTransaction().execute().'
      );
    }
    if (trx.isCommitted === true) return 'a Kysely transaction that already committed.';
    return trx.isRolledBack === true ? 'a Kysely transaction that already rolled back.' : undefined;
  },
  // What Kysely's CompiledQuery.raw() builds: the SQL as one raw node, and a query id of its own for plugins.
  write: (trx, { text, values }) =>
    trx.executeQuery({
      sql: text,
      parameters: [...values],
      query: { kind: 'RawNode', sqlFragments: [text], parameters: [] },
      queryId: { queryId: `nestjs-messaging-outbox-${String(++queries)}` },
    } as never),
};

/** MikroORM: the `em` of `em.transactional(async (em) => ...)`, or one after `em.begin()`. */
export const mikroOrmHandle: TransactionHandleKind<MikroOrmHandleLike> = {
  name: 'MikroORM',
  matches: (handle): handle is MikroOrmHandleLike =>
    hasMethod(handle, 'isInTransaction') && hasMethod(handle, 'getTransactionContext') && hasMethod(handle, 'execute'),
  notInTransaction: (em) =>
    em.isInTransaction()
      ? undefined
      : 'a MikroORM EntityManager that is not inside a transaction: pass the em of em.transactional(async (em) => ...), ' +
        'or call em.begin() first.',
  // MikroORM binds `?` on every database (it renumbers them for PostgreSQL).
  write: (em, statement) => em.execute(placeholdersAs('question', statement), [...statement.values], 'run'),
};

const PRISMA_TRANSACTION_SCOPE = Symbol.for('prisma.client.transaction.scope_context');

/** Prisma: the `tx` client of `prisma.$transaction(async (tx) => ...)` (interactive transactions). */
export const prismaHandle: TransactionHandleKind<PrismaHandleLike> = {
  name: 'Prisma',
  matches: (handle): handle is PrismaHandleLike => hasMethod(handle, '$executeRawUnsafe'),
  // Prisma 7 marks its transaction clients with this symbol (they keep a $transaction, for nested ones);
  // Prisma 5 and 6 remove $transaction from them. A closed one throws on use.
  notInTransaction: (client) =>
    (client as unknown as Record<symbol, unknown>)[PRISMA_TRANSACTION_SCOPE] !== undefined ||
    !hasMethod(client, '$transaction')
      ? undefined
      : 'a PrismaClient (its pool): pass the tx of prisma.$transaction(async (tx) => ...).',
  write: (tx, { text, values }) => Promise.resolve(tx.$executeRawUnsafe(text, ...values)),
};

/**
 * TypeORM: the `manager` of `dataSource.transaction(async (manager) => ...)`, or a `QueryRunner` (or its
 * `manager`) after `startTransaction()`.
 */
export const typeOrmHandle: TransactionHandleKind<TypeOrmHandleLike> = {
  name: 'TypeORM',
  matches: (handle): handle is TypeOrmHandleLike =>
    hasMethod(handle, 'query') &&
    'connection' in handle &&
    (hasMethod(handle, 'getRepository') || (hasMethod(handle, 'startTransaction') && 'isTransactionActive' in handle)),
  notInTransaction: (manager) =>
    (manager.isTransactionActive ?? manager.queryRunner?.isTransactionActive) === true
      ? undefined
      : 'a TypeORM EntityManager that is not inside a transaction (dataSource.manager, say, or a QueryRunner before ' +
        'startTransaction()): pass the manager of dataSource.transaction(async (manager) => ...), or a QueryRunner ' +
        'after startTransaction().',
  write: (manager, { text, values }) => manager.query(text, [...values]),
};

/** Drizzle: the `tx` of `db.transaction(async (tx) => ...)`, nested ones (savepoints) included. */
export const drizzleHandle: TransactionHandleKind<DrizzleHandleLike> = {
  name: 'Drizzle',
  matches: (handle): handle is DrizzleHandleLike =>
    hasMethod(handle, 'execute') &&
    hasMethod(handle, 'transaction') &&
    hasMethod(handle, 'select') &&
    'dialect' in handle,
  // A tx object outlives its transaction (kept, or used by work left running): its connection says whether it is in one.
  notInTransaction: async (tx) => {
    if (!hasMethod(tx, 'rollback'))
      return 'a Drizzle database (its pool): pass the tx of db.transaction(async (tx) => ...).';
    const client = tx.session?.client;
    if (typeof client !== 'object' || client === null) return undefined;
    let reason: string | undefined;
    if (pgHandle.matches(client)) reason = await pgHandle.notInTransaction(client);
    else if (mysql2Handle.matches(client)) reason = await mysql2Handle.notInTransaction(client);
    return reason === undefined ? undefined : `a Drizzle transaction whose connection is no longer in it: ${reason}`;
  },
  write: async (tx, statement: SqlStatement) => tx.execute((await drizzleSql(statement)) as never),
};
