import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Message as RheaMessage } from 'rhea';
import { brokers, consume, declareTopicQueue } from './support/brokers.js';
import { request } from './support/http-app.js';
import { dropMysqlOutbox, dropPostgresOutbox, mysqlUrl } from './support/outbox-store-kinds.js';
import { startSampleApp, stop, TRANSACTIONAL_APP, type SampleAppProcess } from './support/sample-app-process.js';
import { transactionalAppEnv, type TransactionalAppDatabase } from './support/transactional-app.js';

const { shared, postgres } = brokers();

/** What the spec asks of the app's database directly. */
interface Admin {
  rows<T>(sql: string): Promise<T[]>;
  createProducts(table: string): Promise<void>;
  drop(tables: { readonly products: string; readonly outbox: string }): Promise<void>;
  end(): Promise<void>;
}

function adminOf(database: TransactionalAppDatabase): Admin {
  if (database === 'postgres') {
    const pool = new pg.Pool({ connectionString: postgres.url });
    return {
      rows: async <T>(sql: string) => (await pool.query(sql)).rows as T[],
      createProducts: async (table) => {
        await pool.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, name text NOT NULL)`);
      },
      drop: async ({ products, outbox }) => {
        await pool.query(`DROP TABLE IF EXISTS ${products}`);
        await dropPostgresOutbox(outbox);
      },
      end: () => pool.end(),
    };
  }
  const pool = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 2 });
  return {
    rows: async <T>(sql: string) => (await pool.query(sql))[0] as T[],
    createProducts: async (table) => {
      await pool.query(`CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL)`);
    },
    drop: async ({ products, outbox }) => {
      await pool.query(`DROP TABLE IF EXISTS ${products}`);
      await dropMysqlOutbox(outbox);
    },
    end: () => pool.end(),
  };
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const names = (received: readonly RheaMessage[]): string[] =>
  received.map((message) => (JSON.parse(message.body as string) as { name: string }).name).sort();

const CASES = (['postgres', 'mariadb'] as const).flatMap((database) =>
  (['typeorm', 'knex', 'drizzle'] as const).map((orm) => [orm, database] as const),
);

describe.each(CASES)(
  'transactional messaging with %s on %s, the built app against its database and RabbitMQ',
  (orm, database) => {
    const tag = `${orm}_${database}`;
    const tables = {
      products: `tx_products_${tag}_${String(process.pid)}`,
      outbox: `tx_outbox_${tag}_${String(process.pid)}`,
    };
    const queue = `Consumer.tx-${orm}-${database}.VirtualTopic.eng.pdc.products.${orm}-${database}`;
    // Topics of this case only: other tests publish under eng.pdc.products too.
    const topic = `.products.${orm}-${database}`;
    const admin = adminOf(database);
    const count = async (table: string, where = 'true'): Promise<number> =>
      Number((await admin.rows<{ n: number | string }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`))[0].n);
    let app: SampleAppProcess;

    beforeAll(async () => {
      await admin.createProducts(tables.products);
      await declareTopicQueue(shared.url, queue, `eng.pdc.products.${orm}-${database}.#`);
      app = await startSampleApp(transactionalAppEnv(orm, tables, {}, database), TRANSACTIONAL_APP);
    }, 60_000);
    afterAll(async () => {
      await stop(app.child);
      await admin.drop(tables);
      await admin.end();
    });

    const post = async (path: string, body: object): Promise<number> =>
      (await request(app.url, 'POST', path, { body })).status;

    it('delivers what committed, and nothing a rollback (thrown, caught, savepoint) or a failed request undid', async () => {
      const statuses = {
        commit: await post('/products', { name: `${orm}-commit`, topic, outcome: 'commit' }),
        thrown: await post('/products', { name: `${orm}-thrown`, topic, outcome: 'throw' }),
        caught: await post('/products', { name: `${orm}-caught`, topic, outcome: 'rollback-then-succeed' }),
        savepoint: await post('/products', { name: `${orm}-kept`, topic, outcome: 'savepoint' }),
        failedAfterCommit: await post('/products', {
          name: `${orm}-committed-then-500`,
          topic,
          outcome: 'fail-after-commit',
        }),
        outsideThenFail: await post('/products', { name: `${orm}-audited`, topic, outcome: 'outside-then-fail' }),
        job: await post('/jobs', { name: `${orm}-job`, topic: `${topic}.imported` }),
      };
      // Un-awaited work of a transaction (and of its savepoint) adds on the next tick, while the
      // savepoint is released and the transaction writes and commits: refused at the call, never lost.
      const lateWork = await request(app.url, 'POST', '/products', {
        body: { name: `${orm}-late`, topic, outcome: 'late-work' },
      });
      expect(lateWork).toMatchObject({
        status: 201,
        body: { name: `${orm}-late`, late: ['MessagingContextClosedError', 'MessagingContextClosedError'] },
      });
      expect(statuses).toEqual({
        commit: 201,
        thrown: 500,
        caught: 201,
        savepoint: 201,
        failedAfterCommit: 500,
        outsideThenFail: 500,
        job: 202,
      });
      // Everything committed is delivered (and deleted) before the queue is read, so a message that
      // should not exist would be in the queue by then too.
      await until(async () => (await count(tables.products, `name = '${orm}-job'`)) === 1, 'the job to commit');
      await until(async () => (await count(tables.outbox)) === 0, 'the outbox to drain');
      const received = await consume(shared.url, queue, 6, 15_000);
      expect(names(received)).toEqual(
        [
          `${orm}-commit`,
          `${orm}-kept`,
          `${orm}-committed-then-500`,
          `${orm}-audited`,
          `${orm}-job`,
          `${orm}-late`,
        ].sort(),
      );
      // Rolled back: neither the product nor its message; the request-scoped messages of failed requests: dropped.
      const products = await admin.rows<{ name: string }>(`SELECT name FROM ${tables.products} ORDER BY name`);
      expect(products.map(({ name }) => name)).toEqual(
        [
          `${orm}-commit`,
          `${orm}-kept`,
          `${orm}-committed-then-500`,
          `${orm}-audited`,
          `${orm}-job`,
          `${orm}-late`,
        ].sort(),
      );
      expect(app.output()).not.toContain('failed:');
    }, 60_000);
  },
);
