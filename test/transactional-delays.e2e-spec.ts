import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { OutboxAdmin, TransactionalOutbox } from 'nestjs-messaging';
import { MysqlOutboxStore } from 'nestjs-messaging/mysql';
import { PostgresOutboxStore } from 'nestjs-messaging/postgres';
import { CapturingMessenger, MessagingTestingModule } from 'nestjs-messaging/testing';
import type { TransactionalOutboxStore } from 'nestjs-messaging/transactional';
import { brokers } from './support/brokers.js';
import { mariaDbHarnesses } from './support/mariadb-harnesses.js';
import { dropMysqlOutbox, dropPostgresOutbox, mysqlUrl } from './support/outbox-store-kinds.js';
import { transactionHarnesses, type TransactionHarness } from './support/transaction-harnesses.js';
import { waitFor } from './support/wait-for.js';

// TransactionalOutbox.add(tx, ..., { delay | availableAt }) through every transaction handle the
// library recognises, on a real PostgreSQL and a real MariaDB: the message is stored due at its time,
// whichever way the handle's commit is announced (Knex's own commit hook, or the store's wake-up).
const products = `td_products_${String(process.pid)}`;
const outboxTable = `td_outbox_${String(process.pid)}`;
const DELAY_MS = 60_000;
const AVAILABLE_IN_MS = 90_000;
/** Database clocks and the round trips of a loaded machine: how far a stored due time may stray. */
const SLACK_MS = 2000;

interface TestDatabase {
  readonly name: string;
  store(): TransactionalOutboxStore;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  harnesses(): TransactionHarness[];
}

const postgres = (): TestDatabase => {
  const admin = new pg.Pool({ connectionString: brokers().postgres.url, max: 1 });
  return {
    name: 'PostgreSQL',
    store: () =>
      new PostgresOutboxStore({ connectionString: brokers().postgres.url, table: outboxTable, createSchema: true }),
    setUp: async () => {
      await admin.query(`CREATE TABLE ${products} (id serial PRIMARY KEY, name text NOT NULL)`);
    },
    tearDown: async () => {
      await admin.query(`DROP TABLE IF EXISTS ${products}`);
      await dropPostgresOutbox(outboxTable);
      await admin.end();
    },
    harnesses: () => transactionHarnesses(products, brokers().postgres.url),
  };
};

const mariaDb = (): TestDatabase => {
  const admin = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 1 });
  return {
    name: 'MariaDB',
    store: () => new MysqlOutboxStore({ connectionString: mysqlUrl(), table: outboxTable, createSchema: true }),
    setUp: async () => {
      await admin.query(`CREATE TABLE ${products} (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL)`);
    },
    tearDown: async () => {
      await admin.query(`DROP TABLE IF EXISTS ${products}`);
      await dropMysqlOutbox(outboxTable);
      await admin.end();
    },
    harnesses: () => mariaDbHarnesses(products, mysqlUrl()),
  };
};

describe.each([postgres(), mariaDb()].map((database) => [database.name, database] as const))(
  'delayed messages of TransactionalOutbox.add(tx) on %s',
  (_name, database) => {
    let app: INestApplicationContext;
    let outbox: TransactionalOutbox;
    let admin: OutboxAdmin;
    let capture: CapturingMessenger;

    beforeAll(async () => {
      await database.setUp();
      const moduleRef = await Test.createTestingModule({
        imports: [MessagingTestingModule.forRoot({ delivery: 'background', outbox: database.store() })],
      }).compile();
      app = await moduleRef.init();
      outbox = app.get(TransactionalOutbox);
      admin = app.get(OutboxAdmin);
      capture = app.get(CapturingMessenger);
    });
    afterAll(async () => {
      await app.close();
      await database.tearDown();
    });

    it.each(database.harnesses().map((harness) => [harness.orm, harness] as const))(
      'with %s: delay and availableAt are stored as given, a message due at once is delivered',
      async (orm, harness: TransactionHarness) => {
        try {
          const topic = `.delays.${orm.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}`;
          const availableAt = Date.now() + AVAILABLE_IN_MS;
          const before = Date.now();
          const ids = { delayed: '', scheduled: '' };
          await harness.transaction(async (tx) => {
            ids.delayed = (await outbox.add(tx, topic, { n: 1 }, { key: null, delay: DELAY_MS })).id;
            ids.scheduled = (await outbox.add(tx, topic, { n: 2 }, { key: null, availableAt })).id;
            await outbox.add(tx, `${topic}.now`, { n: 3 }, { key: null });
          });
          const after = Date.now();
          await waitFor(
            () => capture.messages.some((message) => message.topic === `${topic}.now`),
            10_000,
            `the message of ${orm} due at once`,
          );
          const delayed = await admin.show(ids.delayed);
          const scheduled = await admin.show(ids.scheduled);
          expect({ delayed: delayed?.status, scheduled: scheduled?.status }).toEqual({
            delayed: 'pending',
            scheduled: 'pending',
          });
          expect(delayed?.nextAttemptAt).toBeGreaterThanOrEqual(before + DELAY_MS - SLACK_MS);
          expect(delayed?.nextAttemptAt).toBeLessThanOrEqual(after + DELAY_MS + SLACK_MS);
          expect(Math.abs((scheduled?.nextAttemptAt ?? 0) - availableAt)).toBeLessThanOrEqual(SLACK_MS);
          expect(capture.messages.filter((message) => message.topic === topic)).toEqual([]);
        } finally {
          await harness.close();
        }
      },
    );
  },
);
