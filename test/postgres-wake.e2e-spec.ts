import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import knex, { type Knex } from 'knex';
import pg from 'pg';
import { MessageQueue, OutboxAdmin, TransactionalOutbox } from 'nestjs-messaging';
import { PostgresOutboxStore } from 'nestjs-messaging/postgres';
import { CapturingMessenger, MessagingTestingModule } from 'nestjs-messaging/testing';
import { brokers } from './support/brokers.js';
import { dropPostgresOutbox } from './support/outbox-store-kinds.js';
import { waitFor } from './support/wait-for.js';

// How a PostgreSQL outbox's rows reach a dispatcher: the library's own inserts send no NOTIFY (the
// writing process wakes its dispatcher itself), so rows nobody announced are found by polling; and
// TransactionalOutbox.add(tx) stores a delayed message delayed, whichever way its commit is announced.
const table = `wake_outbox_${String(process.pid)}`;
const DELAY_MS = 60_000;

describe('PostgreSQL outbox: wake-ups and delays of the explicit transactional API', () => {
  let app: INestApplicationContext;
  let capture: CapturingMessenger;
  let store: PostgresOutboxStore;
  let client: pg.Client;
  let db: Knex;

  beforeAll(async () => {
    store = new PostgresOutboxStore({ connectionString: brokers().postgres.url, table, createSchema: true });
    const moduleRef = await Test.createTestingModule({
      imports: [
        MessagingTestingModule.forRoot({ delivery: 'background', outbox: store, dispatch: { pollIntervalMs: 100 } }),
      ],
    }).compile();
    app = await moduleRef.init();
    capture = app.get(CapturingMessenger);
    client = new pg.Client({ connectionString: brokers().postgres.url });
    await client.connect();
    db = knex({ client: 'pg', connection: brokers().postgres.url, pool: { min: 0, max: 2 } });
  });
  afterAll(async () => {
    await app.close();
    await client.end();
    await db.destroy();
    await dropPostgresOutbox(table);
  });

  const delivered = (topic: string): boolean => capture.messages.some((message) => message.topic === topic);

  /**
   * The NOTIFYs on the outbox's channel while `work` ran and its commits were announced: a marker
   * notification sent last closes the count (PostgreSQL delivers notifications in commit order).
   */
  async function notificationsDuring(work: () => Promise<void>): Promise<number> {
    const listener = new pg.Client({ connectionString: brokers().postgres.url });
    await listener.connect();
    try {
      const channels: string[] = [];
      listener.on('notification', ({ channel }) => channels.push(channel));
      await listener.query(`LISTEN "${table}"`);
      await listener.query(`LISTEN "${table}_marker"`);
      await work();
      await client.query(`NOTIFY "${table}_marker"`);
      await waitFor(() => channels.includes(`${table}_marker`), 5000, 'the marker notification');
      return channels.filter((channel) => channel === table).length;
    } finally {
      await listener.end();
    }
  }

  it("delivers a row whose writer said it would announce it but did not (no NOTIFY): the dispatcher's poll finds it", async () => {
    const message = { id: `wake-${String(process.pid)}`, topic: '.wake.polled', key: null, body: {}, headers: {} };
    const notified = await notificationsDuring(async () => {
      const { text, values } = store.appendStatement([{ ...message, timestamp: Date.now() }], {
        announcedLocally: true,
      });
      await client.query(text, [...values]);
    });
    expect(notified).toBe(0);
    await waitFor(() => delivered('.wake.polled'), 5000, 'the row to be found by polling');
  });

  it('MessageQueue.add() sends no NOTIFY: the process that stored it delivers it', async () => {
    const queue = app.get(MessageQueue);
    const notified = await notificationsDuring(() =>
      queue.run(() => queue.add('.wake.own', { n: 1 })).then(() => undefined),
    );
    expect(notified).toBe(0);
    await waitFor(() => delivered('.wake.own'), 5000, 'the message to be delivered');
  });

  it.each([
    ['pg, whose commit only the NOTIFY announces', 'pg', 1],
    ['Knex, whose handle tells this process of its commit (no NOTIFY)', 'knex', 0],
  ] as const)(
    'TransactionalOutbox.add(tx, ..., { delay }) with %s stores it delayed',
    async (_name, writer, notifications) => {
      const outbox = app.get(TransactionalOutbox);
      const admin = app.get(OutboxAdmin);
      const topic = `.wake.delayed.${writer}`;
      const before = Date.now();
      let id = '';
      const work = async (tx: object): Promise<void> => {
        id = (await outbox.add(tx, topic, { n: 1 }, { key: null, delay: DELAY_MS })).id;
        await outbox.add(tx, `${topic}.now`, { n: 2 }, { key: null });
      };
      const notified = await notificationsDuring(async () => {
        if (writer === 'knex') return db.transaction(work);
        await client.query('BEGIN');
        await work(client);
        await client.query('COMMIT');
      });
      expect(notified).toBe(notifications);
      // The message of the same transaction due at once arrives; the delayed one is not due with it.
      await waitFor(() => delivered(`${topic}.now`), 5000, 'the undelayed message of the same transaction');
      const entry = await admin.show(id);
      expect(entry?.status).toBe('pending');
      expect(entry?.nextAttemptAt).toBeGreaterThanOrEqual(before + DELAY_MS - 1000);
      expect(delivered(topic)).toBe(false);
    },
  );
});
