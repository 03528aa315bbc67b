import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import knex, { type Knex } from 'knex';
import pg from 'pg';
import { OutboxAdmin, TransactionalOutbox, type Message } from 'nestjs-messaging';
import { PostgresOutboxStore } from 'nestjs-messaging/postgres';
import { CapturingMessenger, MessagingTestingModule } from 'nestjs-messaging/testing';
import { brokers } from './support/brokers.js';
import { dropPostgresOutbox } from './support/outbox-store-kinds.js';
import { waitFor } from './support/wait-for.js';

// TransactionalOutbox.add(trx) with Knex announces its message (counts it `accepted`, publishes the
// `accepted` event, wakes the dispatcher) when Knex says the transaction committed, instead of the
// insert's NOTIFY. Knex resolves a transaction's executionPromise on a rollback() called without an
// error too (doNotRejectOnRollback, its default): such a rollback must announce nothing, as a thrown
// error does not.
const table = `knex_announce_${String(process.pid)}`;
const ACCEPTED = 'nestjs-messaging:message.accepted';

describe('TransactionalOutbox.add(trx) with Knex on PostgreSQL: what is announced as accepted', () => {
  let app: INestApplicationContext;
  let outbox: TransactionalOutbox;
  let admin: OutboxAdmin;
  let capture: CapturingMessenger;
  let db: Knex;
  let client: pg.Client;
  const announced: string[] = [];
  const onAccepted = (event: unknown): void => {
    announced.push((event as { message: Message }).message.topic);
  };

  beforeAll(async () => {
    const store = new PostgresOutboxStore({ connectionString: brokers().postgres.url, table, createSchema: true });
    const moduleRef = await Test.createTestingModule({
      imports: [MessagingTestingModule.forRoot({ delivery: 'background', outbox: store })],
    }).compile();
    app = await moduleRef.init();
    outbox = app.get(TransactionalOutbox);
    admin = app.get(OutboxAdmin);
    capture = app.get(CapturingMessenger);
    db = knex({ client: 'pg', connection: brokers().postgres.url, pool: { min: 0, max: 2 } });
    client = new pg.Client({ connectionString: brokers().postgres.url });
    await client.connect();
    // A write of the library that the database refuses: a topic the table does not take.
    await client.query(`ALTER TABLE ${table} ADD CONSTRAINT refused_topic CHECK (topic <> '.announce.refused')`);
    subscribe(ACCEPTED, onAccepted);
  });
  afterAll(async () => {
    unsubscribe(ACCEPTED, onAccepted);
    await app.close();
    await db.destroy();
    await client.end();
    await dropPostgresOutbox(table);
  });

  const rows = async (topic: string): Promise<number> =>
    (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE topic = $1`, [topic])).rows[0].n;

  /**
   * Runs `work`, then commits a marker message: once the marker is delivered, every announcement of
   * `work` (made when its transaction settled, before the marker's) has been made.
   */
  async function announcedBy(work: () => Promise<unknown>): Promise<{ topics: string[]; counted: number }> {
    const before = { events: announced.length, counted: (await admin.stats()).sinceStart.accepted };
    await work();
    const marker = `.announce.marker.${String(before.events)}`;
    await db.transaction(async (trx) => {
      await outbox.add(trx, marker, {});
    });
    await waitFor(() => capture.topics.includes(marker), 10_000, 'the marker to be delivered');
    const topics = announced.slice(before.events).filter((topic) => topic !== marker);
    return { topics, counted: (await admin.stats()).sinceStart.accepted - before.counted - 1 };
  }

  it('announces a committed message once (the control)', async () => {
    const result = await announcedBy(() =>
      db.transaction(async (trx) => {
        await outbox.add(trx, '.announce.committed', {});
      }),
    );
    expect(result).toEqual({ topics: ['.announce.committed'], counted: 1 });
  });

  it('announces nothing for trx.rollback() called without an error in the callback', async () => {
    const result = await announcedBy(() =>
      db.transaction(async (trx) => {
        await outbox.add(trx, '.announce.rollback', {});
        await trx.rollback();
      }),
    );
    expect(await rows('.announce.rollback')).toBe(0);
    expect(result).toEqual({ topics: [], counted: 0 });
  });

  it('announces nothing for a transaction without a callback that rolls back', async () => {
    const result = await announcedBy(async () => {
      const trx = await db.transaction();
      await outbox.add(trx, '.announce.rollback.nocallback', {});
      await trx.rollback();
    });
    expect(await rows('.announce.rollback.nocallback')).toBe(0);
    expect(result).toEqual({ topics: [], counted: 0 });
  });

  it('announces the enclosing transaction’s message, not that of a savepoint rolled back without an error', async () => {
    const result = await announcedBy(() =>
      db.transaction(async (trx) => {
        await trx.transaction(async (savepoint) => {
          await outbox.add(savepoint, '.announce.savepoint', {});
          await savepoint.rollback();
        });
        await outbox.add(trx, '.announce.enclosing', {});
      }),
    );
    expect(await rows('.announce.savepoint')).toBe(0);
    expect(result).toEqual({ topics: ['.announce.enclosing'], counted: 1 });
  });

  it('announces nothing for a write that failed, was caught, and a commit followed', async () => {
    let refusal: unknown;
    const result = await announcedBy(() =>
      db.transaction(async (trx) => {
        refusal = await outbox.add(trx, '.announce.refused', {}).catch((error: unknown) => error);
      }),
    );
    expect(refusal).toBeInstanceOf(Error);
    expect(result).toEqual({ topics: [], counted: 0 });
  });
});
