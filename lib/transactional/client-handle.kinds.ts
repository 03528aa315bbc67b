import type { SqlStatement } from '../kernel/outbox-store.interface.js';
import { hasMethod, placeholdersAs, type TransactionHandleKind } from './transaction-handle.js';

/** What the explicit-transaction API needs of a node-postgres `Client` or `PoolClient` (or sees of a `Pool`). */
export interface PgHandleLike {
  query(text: string, values?: unknown[]): Promise<unknown>;
  /** node-postgres 8.17+: the server's last ReadyForQuery status, `I` idle, `T` in a transaction, `E` failed one. */
  getTransactionStatus?(): string | null;
}

/** What the explicit-transaction API needs of a `mysql2/promise` connection (or sees of its pool). */
export interface Mysql2HandleLike {
  query(sql: string, values?: unknown): Promise<unknown>;
  beginTransaction?(): Promise<void>;
}

const isPgPool = (handle: object): boolean => 'totalCount' in handle && 'idleCount' in handle;

/**
 * node-postgres: a `PoolClient` (or `Client`) after `BEGIN`. The client's own transaction status (the
 * protocol's ReadyForQuery byte, `getTransactionStatus()`) answers without a round trip; with an older `pg`,
 * one `SELECT` compares the transaction's start with the statement's (equal in autocommit, where each
 * statement is its own transaction).
 */
export const pgHandle: TransactionHandleKind<PgHandleLike> = {
  name: 'pg',
  matches: (handle): handle is PgHandleLike =>
    hasMethod(handle, 'query') &&
    (isPgPool(handle) || hasMethod(handle, 'getTransactionStatus') || hasMethod(handle, 'escapeIdentifier')),
  notInTransaction: async (handle) => {
    if (isPgPool(handle)) {
      return (
        'a pg Pool: each of its queries may run on another connection, outside your transaction. ' +
        'Pass the PoolClient on which you ran BEGIN (const client = await pool.connect(); await client.query("BEGIN")).'
      );
    }
    const status = handle.getTransactionStatus?.() ?? (await pgStatusBySql(handle));
    if (status === 'T') return undefined;
    if (status === 'E') {
      return 'a pg client whose transaction has failed (an earlier statement raised an error): roll it back first.';
    }
    return status === 'I'
      ? 'a pg client that is not inside a transaction: no BEGIN ran on it, or its transaction already committed or rolled back.'
      : 'a pg client that has not connected yet: connect it and run BEGIN first.';
  },
  write: (handle, statement) => handle.query(placeholdersAs('dollar', statement), [...statement.values]),
};

async function pgStatusBySql(handle: PgHandleLike): Promise<'T' | 'I'> {
  const result = (await handle.query('SELECT transaction_timestamp() = statement_timestamp() AS autocommit')) as {
    rows: { autocommit: boolean }[];
  };
  return result.rows.at(0)?.autocommit === false ? 'T' : 'I';
}

/** The `SERVER_STATUS_IN_TRANS` bit of the server status every MySQL/MariaDB OK packet carries. */
const SERVER_STATUS_IN_TRANS = 1;

/**
 * mysql2 (`mysql2/promise`): a connection after `beginTransaction()` (or `START TRANSACTION`). Asked with
 * one `DO 0`, whose OK packet carries the server's in-transaction flag (MySQL and MariaDB alike).
 */
export const mysql2Handle: TransactionHandleKind<Mysql2HandleLike> = {
  name: 'mysql2',
  matches: (handle): handle is Mysql2HandleLike =>
    hasMethod(handle, 'query') &&
    hasMethod(handle, 'execute') &&
    (hasMethod(handle, 'beginTransaction') || hasMethod(handle, 'getConnection')),
  notInTransaction: async (handle) => {
    if (!hasMethod(handle, 'beginTransaction')) {
      return (
        'a mysql2 pool: each of its queries may run on another connection, outside your transaction. ' +
        'Pass the connection on which you began it (const connection = await pool.getConnection(); await connection.beginTransaction()).'
      );
    }
    const answer = await handle.query('DO 0');
    const header = (Array.isArray(answer) ? answer[0] : answer) as { serverStatus?: number } | undefined;
    if (typeof header?.serverStatus !== 'number') {
      return 'a mysql2 connection of the callback API: pass its promise() wrapper (mysql2/promise).';
    }
    return (header.serverStatus & SERVER_STATUS_IN_TRANS) !== 0
      ? undefined
      : 'a mysql2 connection that is not inside a transaction: beginTransaction() was not called on it, ' +
          'or its transaction already committed or rolled back.';
  },
  write: (handle, statement: SqlStatement) =>
    handle.query(placeholdersAs('question', statement), [...statement.values]),
};
