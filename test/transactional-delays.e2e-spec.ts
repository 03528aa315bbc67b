import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { OutboxAdmin, TransactionalOutbox } from 'nestjs-messaging';
import { CapturingMessenger, MessagingTestingModule } from 'nestjs-messaging/testing';
import type { TransactionHarness } from './support/transaction-harnesses.js';
import { transactionalDatabases } from './support/transactional-databases.js';
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

describe.each(transactionalDatabases(products, outboxTable).map((database) => [database.name, database] as const))(
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
