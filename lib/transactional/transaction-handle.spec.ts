import { kindOf, placeholdersAs } from './transaction-handle.js';
import { TRANSACTION_HANDLE_KINDS } from './transaction-handle.kinds.js';

describe('placeholdersAs', () => {
  const dollar = { text: 'INSERT INTO t (a, b) SELECT $1, $2', values: [1, 2] };
  const question = { text: 'INSERT INTO t (a, b) VALUES (?, ?)', values: [1, 2], placeholders: 'question' as const };

  it('leaves a statement already in the client style as it is', () => {
    expect(placeholdersAs('dollar', dollar)).toBe(dollar.text);
    expect(placeholdersAs('question', question)).toBe(question.text);
  });

  it('renumbers ? as $1, $2, ... and turns $n into ?', () => {
    expect(placeholdersAs('dollar', question)).toBe('INSERT INTO t (a, b) VALUES ($1, $2)');
    expect(placeholdersAs('question', dollar)).toBe('INSERT INTO t (a, b) SELECT ?, ?');
  });
});

describe('the transaction handle kinds', () => {
  const named = (handle: object): string | undefined => kindOf(handle, TRANSACTION_HANDLE_KINDS)?.name;

  it('tell the look-alike clients apart by shape', () => {
    const method = (): undefined => undefined;
    const knexTrx = Object.assign(method.bind(null), { raw: method, client: {}, isTransaction: true });
    expect(named(knexTrx)).toBe('Knex');
    expect(named({ $executeRawUnsafe: method, $transaction: method })).toBe('Prisma');
    expect(named({ isInTransaction: method, getTransactionContext: method, execute: method })).toBe('MikroORM');
    expect(named({ isTransaction: false, executeQuery: method, selectFrom: method })).toBe('Kysely');
    expect(named({ query: method, getRepository: method, connection: {} })).toBe('TypeORM');
    expect(named({ execute: method, transaction: method, select: method, dialect: {} })).toBe('Drizzle');
    expect(named({ query: method, totalCount: 0, idleCount: 0 })).toBe('pg');
    expect(named({ query: method, getTransactionStatus: method })).toBe('pg');
    expect(named({ query: method, execute: method, beginTransaction: method })).toBe('mysql2');
    expect(named({ query: method, execute: method, getConnection: method })).toBe('mysql2');
    expect(named({ query: method })).toBeUndefined();
  });
});
