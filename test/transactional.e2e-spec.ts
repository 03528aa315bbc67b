import pg from 'pg';
import type { Message as RheaMessage } from 'rhea';
import { brokers, consume, declareTopicQueue } from './support/brokers.js';
import { request } from './support/http-app.js';
import { startSampleApp, stop, TRANSACTIONAL_APP, type SampleAppProcess } from './support/sample-app-process.js';
import { transactionalAppEnv } from './support/transactional-app.js';

const { shared, postgres } = brokers();
const admin = new pg.Pool({ connectionString: postgres.url });
afterAll(() => admin.end());

async function count(table: string, where = 'true'): Promise<number> {
  return (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`)).rows[0].n;
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

describe.each(['typeorm', 'knex', 'drizzle'] as const)(
  'transactional messaging with %s, the built app against PostgreSQL and RabbitMQ',
  (orm) => {
    const tables = {
      products: `tx_products_${orm}_${String(process.pid)}`,
      outbox: `tx_outbox_${orm}_${String(process.pid)}`,
    };
    const queue = `Consumer.tx-${orm}.VirtualTopic.eng.pdc.products.${orm}`;
    // Topics of this ORM only: other tests publish under eng.pdc.products too.
    const topic = `.products.${orm}`;
    let app: SampleAppProcess;

    beforeAll(async () => {
      await admin.query(`CREATE TABLE ${tables.products} (id serial PRIMARY KEY, name text NOT NULL)`);
      await declareTopicQueue(shared.url, queue, `eng.pdc.products.${orm}.#`);
      app = await startSampleApp(transactionalAppEnv(orm, tables), TRANSACTIONAL_APP);
    }, 60_000);
    afterAll(async () => {
      await stop(app.child);
      await admin.query(`DROP TABLE IF EXISTS ${tables.products}, ${tables.outbox}`);
      await admin.query(`DROP FUNCTION IF EXISTS ${tables.outbox}_notify()`);
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
      const products = (await admin.query<{ name: string }>(`SELECT name FROM ${tables.products} ORDER BY name`)).rows;
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
