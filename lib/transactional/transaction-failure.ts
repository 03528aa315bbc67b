/** The errors along `error`'s `cause` chain (and Prisma's `meta`), outermost first, at most 6. */
function chainOf(error: unknown): Record<string, unknown>[] {
  const chain: Record<string, unknown>[] = [];
  for (let link = error; typeof link === 'object' && link !== null && chain.length < 6;) {
    const record = link as Record<string, unknown>;
    chain.push(record);
    link = record.cause ?? record.meta;
  }
  return chain;
}

const FAILED = 'a PostgreSQL transaction that has failed (an earlier statement raised an error): roll it back first.';
const ENDED = 'a transaction that already committed or rolled back.';

/**
 * Why a statement run on a transaction handle failed because the handle is not inside an open
 * transaction, or `undefined` for any other failure. Recognised along the `cause` chain: PostgreSQL's
 * `25P02` (in_failed_sql_transaction, also as Prisma's `originalCode`); Kysely's (and MikroORM 7's)
 * "Transaction is already committed / rolled back"; Prisma's `P2028` "Transaction already closed".
 * A statement refused so wrote nothing.
 */
export function closedTransactionReason(error: unknown): string | undefined {
  for (const link of chainOf(error)) {
    if (link.code === '25P02' || link.originalCode === '25P02') return FAILED;
    if (link.code === 'P2028') return ENDED;
    const message = typeof link.message === 'string' ? link.message : '';
    if (/current transaction is aborted/.test(message)) return FAILED;
    if (/Transaction is already (committed|rolled back)|Transaction already closed/.test(message)) return ENDED;
  }
  return undefined;
}

/** Whether the database ended the statement's transaction as a deadlock victim (PostgreSQL `40P01`, MySQL 1213). */
export function isDeadlock(error: unknown): boolean {
  return chainOf(error).some(
    (link) =>
      link.code === '40P01' ||
      link.originalCode === '40P01' ||
      link.errno === 1213 ||
      link.code === 'ER_LOCK_DEADLOCK' ||
      (typeof link.message === 'string' && /deadlock detected|Deadlock found/.test(link.message)),
  );
}
