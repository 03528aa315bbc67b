import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { NotInTransactionError, TransactionalOutbox } from 'nestjs-messaging';
import { CapturingMessenger, MessagingTestingModule } from 'nestjs-messaging/testing';
import { brokers } from './support/brokers.js';
import type { TransactionHarness } from './support/transaction-harnesses.js';
import { transactionalDatabases } from './support/transactional-databases.js';
import { waitFor } from './support/wait-for.js';

// TransactionalOutbox.add(tx, ...) with each ORM's (or driver's) own transaction handle, on a real
// PostgreSQL and a real MariaDB: what commits is delivered, what rolls back (the transaction, or a
// savepoint around the call) never is, and a handle outside any transaction is refused before anything
// is written.
const products = `tw_products_${String(process.pid)}`;
const outboxTable = `tw_outbox_${String(process.pid)}`;

describe.each(transactionalDatabases(products, outboxTable).map((database) => [database.name, database] as const))(
  'on %s',
  (_name, database) => {
    let app: INestApplicationContext;
    let outbox: TransactionalOutbox;
    let capture: CapturingMessenger;

    beforeAll(async () => {
      await database.setUp();
      const moduleRef = await Test.createTestingModule({
        imports: [MessagingTestingModule.forRoot({ delivery: 'background', outbox: database.store() })],
      }).compile();
      app = await moduleRef.init();
      outbox = app.get(TransactionalOutbox);
      capture = app.get(CapturingMessenger);
    });
    afterAll(async () => {
      await app.close();
      await database.tearDown();
    });

    const delivered = (topic: string): string[] =>
      capture.messages.filter((message) => message.topic === topic).map(({ body }) => (body as { name: string }).name);
    const rows = (table: string, where: string, value: string): Promise<number> => database.count(table, where, value);

    describe.each(database.harnesses().map((harness) => [harness.orm, harness.database, harness] as const))(
      'TransactionalOutbox.add(tx) with %s on %s',
      (orm, _database, harness: TransactionHarness) => {
        const slug = orm.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
        const topic = `.writers.${slug}`;
        const add = (tx: object, name: string): Promise<unknown> => outbox.add(tx, topic, { name });
        afterAll(() => harness.close());

        it('writes the row through the transaction: invisible until COMMIT, then delivered', async () => {
          const name = `${slug}-commit`;
          let invisibleInside: number | undefined;
          await harness.transaction(async (tx) => {
            await harness.insert(tx, name);
            const message = await outbox.add(tx, topic, { name });
            // Another connection does not see the uncommitted row, so no dispatcher can claim it yet.
            invisibleInside = await rows(outboxTable, 'id', message.id);
          });
          expect(invisibleInside).toBe(0);
          await waitFor(() => delivered(topic).includes(name), 10_000, `${name} to be delivered`);
          expect(await rows(products, 'name', name)).toBe(1);
        });

        it('never delivers the message of a transaction that rolled back', async () => {
          const name = `${slug}-rolled-back`;
          await expect(
            harness.transaction(async (tx) => {
              await harness.insert(tx, name);
              await add(tx, name);
              throw new Error('the handler failed');
            }),
          ).rejects.toThrow('the handler failed');
          // A later commit is delivered: had the rolled-back message existed, the dispatcher would have sent it too.
          const after = `${slug}-after-rollback`;
          await harness.transaction((tx) => add(tx, after).then(() => undefined));
          await waitFor(() => delivered(topic).includes(after), 10_000, `${after} to be delivered`);
          expect(delivered(topic)).not.toContain(name);
          expect(await rows(products, 'name', name)).toBe(0);
          expect(await rows(outboxTable, database.bodyName, name)).toBe(0);
        });

        it('drops the message of a savepoint that rolled back, and delivers the rest of the transaction', async () => {
          const names = { before: `${slug}-sp-before`, inside: `${slug}-sp-inside`, after: `${slug}-sp-after` };
          await harness.transaction(async (tx) => {
            await harness.insert(tx, names.before);
            await add(tx, names.before);
            await harness.savepoint(tx, async (nested) => {
              await harness.insert(nested, names.inside);
              await add(nested, names.inside);
              throw new Error('the nested work failed');
            });
            await add(tx, names.after);
          });
          await waitFor(
            () => delivered(topic).includes(names.before) && delivered(topic).includes(names.after),
            10_000,
            'the messages around the savepoint to be delivered',
          );
          expect(delivered(topic)).not.toContain(names.inside);
          expect(await rows(products, 'name', names.inside)).toBe(0);
          expect(await rows(outboxTable, database.bodyName, names.inside)).toBe(0);
          expect(await rows(products, 'name', names.before)).toBe(1);
        });

        it('refuses the handle of a transaction that already committed or rolled back, and writes nothing', async () => {
          const ended: { what: string; handle: object }[] = [];
          await harness.transaction((tx) => {
            ended.push({ what: 'committed', handle: tx });
            return Promise.resolve();
          });
          await harness
            .transaction((tx) => {
              ended.push({ what: 'rolled back', handle: tx });
              return Promise.reject(new Error('rolled back'));
            })
            .catch(() => undefined);
          expect(ended.map(({ what }) => what)).toEqual(['committed', 'rolled back']);
          for (const { what, handle } of ended) {
            const name = `${slug}-ended-${what.replace(' ', '-')}`;
            const refusal = await add(handle, name).then(
              () => undefined,
              (error: unknown) => error,
            );
            expect({ what, refused: refusal instanceof NotInTransactionError }).toEqual({ what, refused: true });
            expect((refusal as Error).message).toMatch(/already committed|rolled back|not inside a transaction/);
            expect(await rows(outboxTable, database.bodyName, name)).toBe(0);
          }
        });

        if (database.name === 'PostgreSQL') {
          it('refuses a PostgreSQL transaction that has failed (an earlier statement raised an error)', async () => {
            const name = `${slug}-failed-transaction`;
            let refusal: unknown;
            await harness
              .transaction(async (tx) => {
                await harness.insert(tx, null as unknown as string).then(
                  () => {
                    throw new Error('a NULL name was inserted');
                  },
                  () => undefined,
                );
                refusal = await add(tx, name).then(
                  () => undefined,
                  (error: unknown) => error,
                );
              })
              .catch(() => undefined);
            expect(refusal).toBeInstanceOf(NotInTransactionError);
            expect((refusal as Error).message).toMatch(/transaction (that )?has failed/);
            expect(await rows(outboxTable, database.bodyName, name)).toBe(0);
          });
        }

        it('writes bodies with placeholder look-alikes, quotes and 1 MB of text as they were given', async () => {
          const odd = {
            name: `${slug}-odd`,
            dollar: 'costs $1 and $2, or $$ in ($1)',
            question: 'what? ?? (?, ?) ?|',
            quotes: `it's "quoted" \\ '' \\u0000 as text`,
            large: 'x'.repeat(1024 * 1024),
          };
          await harness.transaction(async (tx) => {
            await outbox.add(tx, topic, odd);
          });
          await waitFor(() => delivered(topic).includes(odd.name), 20_000, `${odd.name} to be delivered`);
          const sent = capture.messages.find((message) => (message.body as { name?: string }).name === odd.name);
          expect(sent?.body).toEqual(odd);
        }, 30_000);

        it('refuses a handle that is not inside a transaction, naming the cause, and writes nothing', async () => {
          const outside = await harness.outside();
          expect(outside.length).toBeGreaterThan(0);
          for (const { what, handle, cause } of outside) {
            const name = `${slug}-outside-${what}`;
            const refusal = await add(handle, name).then(
              () => undefined,
              (error: unknown) => error,
            );
            expect({ what, refused: refusal instanceof NotInTransactionError }).toEqual({ what, refused: true });
            expect((refusal as Error).message).toMatch(cause);
            expect(await rows(outboxTable, database.bodyName, name)).toBe(0);
          }
        });
      },
    );

    if (database.name === 'PostgreSQL') {
      it('takes a TypeORM QueryRunner after startTransaction(): a rollback is never delivered, a commit is', async () => {
        const topic = '.writers.query-runner';
        const source = await new DataSource({
          type: 'postgres',
          url: brokers().postgres.url,
          poolSize: 2,
        }).initialize();
        try {
          const runner = source.createQueryRunner();
          await runner.startTransaction();
          await outbox.add(runner, topic, { name: 'runner-rolled-back' });
          await runner.rollbackTransaction();
          await runner.startTransaction();
          await outbox.add(runner, topic, { name: 'runner-committed' });
          await runner.commitTransaction();
          await runner.release();
          await waitFor(() => delivered(topic).includes('runner-committed'), 10_000, 'the committed message');
          expect(delivered(topic)).toEqual(['runner-committed']);
          expect(await rows(outboxTable, database.bodyName, 'runner-rolled-back')).toBe(0);
        } finally {
          await source.destroy();
        }
      });
    }

    it('refuses an object that is no transaction handle, listing the ones it knows', async () => {
      await expect(outbox.add({ query: 'not a function' }, '.writers.other', {})).rejects.toThrow(
        /none of the transaction handles this library knows \(Knex, Prisma, MikroORM, Kysely, TypeORM, Drizzle, pg, mysql2\)/,
      );
    });
  },
);
