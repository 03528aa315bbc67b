import mysql from 'mysql2/promise';
import pg from 'pg';
import { MysqlOutboxStore } from 'nestjs-messaging/mysql';
import { PostgresOutboxStore } from 'nestjs-messaging/postgres';
import type { TransactionalOutboxStore } from 'nestjs-messaging/transactional';
import { brokers } from './brokers.js';
import { mariaDbHarnesses } from './mariadb-harnesses.js';
import { dropMysqlOutbox, dropPostgresOutbox, mysqlUrl } from './outbox-store-kinds.js';
import { transactionHarnesses, type TransactionHarness } from './transaction-harnesses.js';

/**
 * One database of the explicit-transaction specs: its outbox store, a `products` table the
 * transactions write to, an admin connection to count rows, and the ORMs that run on it.
 */
export interface TransactionalTestDatabase {
  readonly name: string;
  store(): TransactionalOutboxStore;
  /** Rows of `table` where the SQL expression `column` equals `value`. */
  count(table: string, column: string, value: string): Promise<number>;
  /** The SQL expression of the outbox body's `name`. */
  readonly bodyName: string;
  /** Creates the products table. */
  setUp(): Promise<void>;
  /** Drops the products table and the outbox, and closes the admin connection. */
  tearDown(): Promise<void>;
  harnesses(): TransactionHarness[];
}

/** A real PostgreSQL and a real MariaDB, each with `products` and `outboxTable` (names unique to the spec). */
export function transactionalDatabases(products: string, outboxTable: string): TransactionalTestDatabase[] {
  return [postgres(products, outboxTable), mariaDb(products, outboxTable)];
}

function postgres(products: string, outboxTable: string): TransactionalTestDatabase {
  const admin = new pg.Pool({ connectionString: brokers().postgres.url, max: 2 });
  return {
    name: 'PostgreSQL',
    store: () =>
      new PostgresOutboxStore({ connectionString: brokers().postgres.url, table: outboxTable, createSchema: true }),
    count: async (table, column, value) =>
      (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [value]))
        .rows[0].n,
    bodyName: "body->>'name'",
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
}

function mariaDb(products: string, outboxTable: string): TransactionalTestDatabase {
  const admin = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 2 });
  return {
    name: 'MariaDB',
    store: () => new MysqlOutboxStore({ connectionString: mysqlUrl(), table: outboxTable, createSchema: true }),
    count: async (table, column, value) => {
      const [rows] = await admin.query(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ?`, [value]);
      return Number((rows as { n: number | string }[])[0].n);
    },
    bodyName: "JSON_UNQUOTE(JSON_EXTRACT(body, '$.name'))",
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
}
