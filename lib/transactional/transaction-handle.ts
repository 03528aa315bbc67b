import type { SqlPlaceholders, SqlStatement } from '../kernel/outbox-store.interface.js';

/** What a `TransactionHandleKind` knows of a transaction handle before it looks: an object (or Knex's function). */
export type TransactionHandle = object;

/**
 * One kind of transaction handle `TransactionalOutbox.add(tx, ...)` accepts
 * (a Knex transaction, a Kysely `Transaction`, a `pg` client, ...): how to
 * recognise it, how to tell whether it is inside a transaction, and how to
 * run the outbox insert on the transaction's own connection. The kinds
 * shipped are `TRANSACTION_HANDLE_KINDS`; their checks are structural, so
 * no ORM is loaded (nor typed) unless the application uses it.
 */
export interface TransactionHandleKind<TTx extends TransactionHandle = TransactionHandle> {
  /** Named in errors, e.g. `Knex`, `pg`. */
  readonly name: string;
  /** Whether `handle` is of this kind (a transaction or not: the root instance, a pool). Synchronous, no I/O. */
  matches(handle: TransactionHandle): handle is TTx;
  /**
   * Why `handle` is not inside an open transaction (`a pg Pool: ...`), or `undefined` when it is.
   * May ask the database (one round trip at most) where the client does not know.
   */
  notInTransaction(handle: TTx): string | undefined | Promise<string | undefined>;
  /** Runs `statement` (`$n` parameters) on the transaction. */
  write(handle: TTx, statement: SqlStatement): Promise<unknown>;
  /**
   * Calls `committed` once the outermost transaction that holds `handle`'s work committed, and never when
   * it (or a savepoint around the work) rolled back. Returns `false` when the handle cannot tell; the
   * store's own wake-up (PostgreSQL `NOTIFY` from the insert trigger, delivered on commit only) then
   * announces the messages.
   */
  onCommit?(handle: TTx, committed: () => void): boolean;
}

/**
 * The statement's text with its parameters marked as a client binds them: `?` for Knex, MikroORM and
 * mysql2, `$n` for node-postgres. Each parameter is marked once, in order, in the store's statements.
 */
export function placeholdersAs(style: SqlPlaceholders, { text, placeholders = 'dollar' }: SqlStatement): string {
  if (style === placeholders) return text;
  let n = 0;
  return style === 'question' ? text.replace(/\$\d+/g, '?') : text.replace(/\?/g, () => `$${String(++n)}`);
}

/** Whether `value` has a method `name`. */
export function hasMethod(value: object, name: string): boolean {
  return typeof (value as Record<string, unknown>)[name] === 'function';
}

/** The kind of `handle` among `kinds`, if any. */
export function kindOf(
  handle: TransactionHandle,
  kinds: readonly TransactionHandleKind[],
): TransactionHandleKind | undefined {
  return kinds.find((kind) => kind.matches(handle));
}
