import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { MessagingModule, TransactionalOutbox, type Message } from 'nestjs-messaging';
import { MysqlOutboxStore } from 'nestjs-messaging/mysql';
import { PostgresOutboxStore } from 'nestjs-messaging/postgres';
import type { TransactionalOutboxStore } from 'nestjs-messaging/transactional';
import { mariaDbHarnesses } from '../test/support/mariadb-harnesses.js';
import type { TransactionHarness } from '../test/support/transaction-harnesses.js';
import { transactionHarnesses } from '../test/support/transaction-harnesses.js';

// The explicit-transaction API per ORM and database: transactions per second of a handler that inserts a
// row and adds one message in the same transaction (TransactionalOutbox.add(tx, ...)), against the same
// handler without the message. In process (no HTTP), CONCURRENCY transactions in flight, the dispatcher
// running beside them and sending to a messenger that takes everything at once.
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 8;
const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/nestjs_messaging_test';
const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/nestjs_messaging_test';
const PRODUCTS = 'bench_writers_products';
const OUTBOX = 'bench_writers_outbox';
// Prisma needs a generated client (the spec generates one); the SQL fallback of old pg is a test case, not a user's choice.
const SKIPPED = new Set(['Prisma', 'pg (no getTransactionStatus)']);

@Module({})
class BenchModule {}

interface BenchDatabase {
  readonly name: string;
  store(): TransactionalOutboxStore;
  /** Creates the products table; returns what drops it and the outbox again. */
  setUp(): Promise<() => Promise<void>>;
  harnesses(): TransactionHarness[];
}

const DATABASES: readonly BenchDatabase[] = [
  {
    name: 'PostgreSQL',
    store: () => new PostgresOutboxStore({ connectionString: POSTGRES_URL, table: OUTBOX, createSchema: true }),
    setUp: async () => {
      const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
      await admin.query(`DROP TABLE IF EXISTS ${PRODUCTS}`);
      await admin.query(`CREATE TABLE ${PRODUCTS} (id serial PRIMARY KEY, name text NOT NULL)`);
      return async () => {
        await admin.query(`DROP TABLE IF EXISTS ${PRODUCTS}, ${OUTBOX}`);
        await admin.query(`DROP FUNCTION IF EXISTS ${OUTBOX}_notify()`);
        await admin.end();
      };
    },
    harnesses: () => transactionHarnesses(PRODUCTS, POSTGRES_URL),
  },
  {
    name: 'MariaDB',
    store: () => new MysqlOutboxStore({ connectionString: MYSQL_URL, table: OUTBOX, createSchema: true }),
    setUp: async () => {
      const admin = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 1 });
      await admin.query(`DROP TABLE IF EXISTS ${PRODUCTS}`);
      await admin.query(`CREATE TABLE ${PRODUCTS} (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL)`);
      return async () => {
        await admin.query(`DROP TABLE IF EXISTS ${PRODUCTS}, ${OUTBOX}`);
        await admin.query('DELETE FROM nestjs_messaging_schema WHERE table_name = ?', [OUTBOX]).catch(() => undefined);
        await admin.end();
      };
    },
    harnesses: () => mariaDbHarnesses(PRODUCTS, MYSQL_URL),
  },
];

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Transactions per second of `handler` run by CONCURRENCY loops for `seconds`. */
async function rate(handler: () => Promise<void>, seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await handler();
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  return done / ((performance.now() - started) / 1000);
}

/** The explicit-transaction API: row only vs row + message, per ORM and database. */
export async function runWritersBenchmark(): Promise<void> {
  console.log(
    `\nExplicit-transaction API: one transaction inserts a row (and adds one message with TransactionalOutbox.add(tx)), ` +
      `${String(CONCURRENCY)} in flight, ${String(SECONDS)} s, ${String(ROUNDS)} round(s), median`,
  );
  for (const database of DATABASES) {
    const tearDown = await database.setUp();
    let delivered = 0;
    const app: INestApplicationContext = await NestFactory.createApplicationContext(
      {
        module: BenchModule,
        imports: [
          MessagingModule.forRoot({
            messenger: {
              send: (messages: readonly Message[]) => {
                delivered += messages.length;
                return Promise.resolve();
              },
            },
            outbox: database.store(),
          }),
        ],
      },
      { logger: ['error'] },
    );
    const outbox = app.get(TransactionalOutbox);
    try {
      for (const harness of database.harnesses().filter(({ orm }) => !SKIPPED.has(orm))) {
        const rowOnly = (): Promise<void> => harness.transaction((tx) => harness.insert(tx, 'bench'));
        const withMessage = (): Promise<void> =>
          harness.transaction(async (tx) => {
            await harness.insert(tx, 'bench');
            await outbox.add(tx, '.bench.writers', { name: 'bench' });
          });
        await rate(withMessage, 1); // warm-up: JIT, pools, the outbox's first statements
        const samples = { rowOnly: [] as number[], withMessage: [] as number[] };
        // Interleaved rounds: machine drift hits both variants alike.
        for (let round = 0; round < ROUNDS; round++) {
          samples.rowOnly.push(await rate(rowOnly, SECONDS));
          samples.withMessage.push(await rate(withMessage, SECONDS));
        }
        await harness.close();
        const base = median(samples.rowOnly);
        const messaged = median(samples.withMessage);
        console.log(
          `  ${database.name.padEnd(10)} ${harness.orm.padEnd(9)} row only ${base.toFixed(0).padStart(6)} tx/s   ` +
            `row + message ${messaged.toFixed(0).padStart(6)} tx/s   ratio ${(messaged / base).toFixed(2)}`,
        );
      }
      console.log(`  (${database.name}: ${String(delivered)} messages delivered during the runs)`);
    } finally {
      await app.close();
      await tearDown();
    }
  }
}
