import { Test, type TestingModule } from '@nestjs/testing';
import pg from 'pg';
import { DataSource } from 'typeorm';
import {
  createMessage,
  MessagingModule,
  NotInTransactionError,
  OutboxWriteError,
  TransactionalOutbox,
  type Message,
  type Messenger,
} from 'nestjs-messaging';
import { PostgresOutboxStore } from 'nestjs-messaging/postgres';
import { knexOutboxWriter, pgOutboxWriter, typeormOutboxWriter } from 'nestjs-messaging/transactional';
import knexFactory, { type Knex } from 'knex';
import { brokers } from './support/brokers.js';
import { dropPostgresOutbox } from './support/outbox-store-kinds.js';
import { sleep, waitFor } from './support/wait-for.js';

/*
 * Messages of one ordering key are delivered in COMMIT order on PostgreSQL, whatever the writer,
 * across dispatchers: a dozen producers overlap on one key, each holding its transaction open for
 * a random while after the insert, so that without the per-key lock a transaction that inserts
 * first and commits last would be delivered first. Two dispatchers (two applications on the table)
 * deliver; the consumer counts inversions of commit order.
 */

const { postgres } = brokers();
const table = `ordering_commit_${String(process.pid)}`;
const PRODUCERS = 12;
const PER_PRODUCER = 10;
const KEY = 'account:42';

/** A global clock of events (sends, commits, deliveries) in this process. */
let tick = 0;

/** Records every message in the order the "bus" got it, from any of the dispatchers. */
class OrderedBus implements Messenger {
  readonly delivered: { id: string; at: number }[] = [];
  readonly messages: Message[] = [];
  async send(messages: readonly Message[]): Promise<void> {
    await sleep(Math.random() * 3);
    for (const { id } of messages) this.delivered.push({ id, at: ++tick });
    this.messages.push(...messages);
  }
}

/** When each message's commit was sent and when it was acknowledged. */
interface Committed {
  readonly id: string;
  readonly commitSent: number;
  readonly committed: number;
}

/**
 * Pairs delivered in an order that contradicts commit order: a committed (acknowledged) before b's
 * commit was even sent, yet b went out first. Pairs whose commits overlapped have no order to keep.
 */
function inversions(commits: readonly Committed[], delivered: readonly { id: string; at: number }[]): number {
  const at = new Map(delivered.map(({ id, at: when }) => [id, when]));
  let count = 0;
  for (const a of commits)
    for (const b of commits) if (a.committed < b.commitSent && (at.get(b.id) ?? 0) < (at.get(a.id) ?? 0)) count++;
  return count;
}

const admin = new pg.Pool({ connectionString: postgres.url, max: PRODUCERS + 2 });
const apps: TestingModule[] = [];
let bus: OrderedBus;
let store: PostgresOutboxStore;

async function startDispatchers(): Promise<void> {
  bus = new OrderedBus();
  for (let i = 0; i < 2; i++) {
    const app = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({
          messenger: bus,
          outbox: new PostgresOutboxStore({ connectionString: postgres.url, table, createSchema: true }),
          dispatch: { batchSize: 7, pollIntervalMs: 50 },
        }),
      ],
    }).compile();
    await app.init();
    apps.push(app);
  }
}

beforeAll(async () => {
  store = new PostgresOutboxStore({ connectionString: postgres.url, table, createSchema: true, listen: false });
  await store.onModuleInit();
  await startDispatchers();
}, 30_000);

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await store.close();
  await dropPostgresOutbox(table);
  await admin.end();
}, 30_000);

type Writer = (message: Message, commits: Committed[]) => Promise<void>;

/** `PostgresOutboxStore.append()`: its own statement, committed at once. */
const storeAppend: Writer = async (message, commits) => {
  const commitSent = ++tick;
  await store.append([message]);
  commits.push({ id: message.id, commitSent, committed: ++tick });
};

/** The node-postgres transactional writer, in a transaction held open after the insert. */
const pgTransaction: Writer = async (message, commits) => {
  const client = await admin.connect();
  try {
    await client.query('BEGIN');
    await pgOutboxWriter(client, store.appendStatement([message]));
    await sleep(Math.random() * 15);
    const commitSent = ++tick;
    await client.query('COMMIT');
    commits.push({ id: message.id, commitSent, committed: ++tick });
  } finally {
    client.release();
  }
};

// One promise, not `dataSource ??= await ...`: the producers start at once, and each would open a pool.
let dataSource: Promise<DataSource> | undefined;
/** The TypeORM transactional writer, on TypeORM's transaction EntityManager. */
const typeormTransaction: Writer = async (message, commits) => {
  dataSource ??= new DataSource({ type: 'postgres', url: postgres.url, poolSize: PRODUCERS }).initialize();
  let commitSent = 0;
  await (
    await dataSource
  ).transaction(async (manager) => {
    await typeormOutboxWriter(manager, store.appendStatement([message]));
    await sleep(Math.random() * 15);
    commitSent = ++tick;
  });
  commits.push({ id: message.id, commitSent, committed: ++tick });
};

let knex: Knex | undefined;
/** The Knex transactional writer, on a `Knex.Transaction`. */
const knexTransaction: Writer = async (message, commits) => {
  knex ??= knexFactory({ client: 'pg', connection: postgres.url, pool: { min: 0, max: PRODUCERS } });
  let commitSent = 0;
  await knex.transaction(async (trx) => {
    await knexOutboxWriter(trx, store.appendStatement([message]));
    await sleep(Math.random() * 15);
    commitSent = ++tick;
  });
  commits.push({ id: message.id, commitSent, committed: ++tick });
};

/** Ends the ORM pools a writer opened: one at a time, so that the run stays well under max_connections. */
async function endWriterPools(): Promise<void> {
  await (await dataSource)?.destroy();
  dataSource = undefined;
  await knex?.destroy();
  knex = undefined;
}

afterAll(endWriterPools);

/** `TransactionalOutbox.add(tx)` (the explicit API) on a pg client, in a transaction held open after the insert. */
const explicitAdd: Writer = async (message, commits) => {
  const client = await admin.connect();
  try {
    await client.query('BEGIN');
    const added = await apps[0].get(TransactionalOutbox).add(client, message.topic, message.body, { key: message.key });
    await sleep(Math.random() * 15);
    const commitSent = ++tick;
    await client.query('COMMIT');
    commits.push({ id: added.id, commitSent, committed: ++tick });
  } finally {
    client.release();
  }
};

describe('ordering keys in commit order on PostgreSQL', () => {
  it.each([
    ['PostgresOutboxStore.append()', storeAppend],
    ['pgOutboxWriter in transactions', pgTransaction],
    ['typeormOutboxWriter in transactions', typeormTransaction],
    ['knexOutboxWriter in transactions', knexTransaction],
    ['TransactionalOutbox.add(tx) in transactions', explicitAdd],
  ])(
    `a dozen producers overlapping on one key through %s: delivered in commit order, 0 inversions`,
    async (_writer, write: Writer) => {
      const commits: Committed[] = [];
      const before = bus.delivered.length;
      await Promise.all(
        Array.from({ length: PRODUCERS }, async (_, producer) => {
          for (let n = 0; n < PER_PRODUCER; n++) {
            await write(createMessage('.accounts.changed', { producer, n }, { key: KEY }), commits);
          }
        }),
      );
      await endWriterPools();
      const total = PRODUCERS * PER_PRODUCER;
      await waitFor(() => bus.delivered.length - before >= total, 20_000, `${String(total)} deliveries`);
      const delivered = bus.delivered.slice(before);
      expect(new Set(delivered.map(({ id }) => id)).size).toBe(total);
      // The figures (producers, messages, ordered pairs compared, inversions), for the report.
      const ordered = commits.flatMap((a) => commits.filter((b) => a.committed < b.commitSent)).length;
      process.stdout.write(
        `ordering: ${_writer}: ${String(PRODUCERS)} producers, ${String(total)} messages, ${String(ordered)} commit-ordered pairs, ${String(inversions(commits, delivered))} inversions\n`,
      );
      // The test can fail: producers' commits did overlap and interleave.
      expect(ordered).toBeGreaterThan(total);
      expect(inversions(commits, delivered)).toBe(0);
    },
    60_000,
  );

  it('TransactionalOutbox.add(tx): transactions adding two topics in opposite orders deadlock; the victim is told why, rolls back whole, the other commits', async () => {
    const outbox = apps[0].get(TransactionalOutbox);
    const [first, second] = ['.deadlock.orders', '.deadlock.stock'];
    let bothHold = (): void => undefined;
    const bothHoldOne = { promise: new Promise<void>((resolve) => (bothHold = resolve)) };
    let holding = 0;
    // Each message's key is its topic (the default): the first add() of each transaction holds one topic's lock.
    const transaction = async (topics: readonly string[], label: string): Promise<unknown> => {
      const client = await admin.connect();
      try {
        await client.query('BEGIN');
        await outbox.add(client, topics[0], { label });
        if (++holding === 2) bothHold();
        await bothHoldOne.promise;
        await outbox.add(client, topics[1], { label });
        await client.query('COMMIT');
        return 'committed';
      } catch (error) {
        await client.query('ROLLBACK');
        return error;
      } finally {
        client.release();
      }
    };
    const outcomes = await Promise.all([transaction([first, second], 'one'), transaction([second, first], 'two')]);
    expect(outcomes.filter((outcome) => outcome === 'committed')).toHaveLength(1);
    const victim = outcomes.find((outcome) => outcome !== 'committed');
    expect(victim).toBeInstanceOf(OutboxWriteError);
    expect(victim).not.toBeInstanceOf(NotInTransactionError);
    expect((victim as Error).message).toMatch(/deadlock detected.*opposite key orders.*sorted.*retry/s);
    const winner = outcomes[0] === 'committed' ? 'one' : 'two';
    const ours = (): Message[] => bus.messages.filter(({ topic }) => topic.startsWith('.deadlock.'));
    await waitFor(() => ours().length >= 2, 10_000, "the winner's two messages");
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} WHERE topic LIKE '.deadlock.%' AND body->>'label' <> $1`,
      [winner],
    );
    expect(rows[0].n).toBe(0);
    expect(ours().map(({ body }) => (body as { label: string }).label)).toEqual([winner, winner]);
  }, 30_000);

  it('a claim that meets a row of the key another connection is still writing never splits the key', async () => {
    const first = await admin.connect();
    const second = await admin.connect();
    try {
      // Dispatchers are running: stop them from taking what the proof looks at.
      await Promise.all(apps.splice(0).map((app) => app.close()));
      const a = createMessage('.split', { n: 1 }, { key: 'split' });
      const b = createMessage('.split', { n: 2 }, { key: 'split' });
      await first.query('BEGIN');
      await first.query(store.appendStatement([a]).text, [...store.appendStatement([a]).values]);
      // The second writer of the key waits for the first's commit, before its row gets a sequence.
      const pid = (await second.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await second.query('BEGIN');
      const secondInsert = second.query(store.appendStatement([b]).text, [...store.appendStatement([b]).values]);
      let waiting = 0;
      const deadline = Date.now() + 5000;
      while (waiting === 0 && Date.now() < deadline) {
        const { rows } = await admin.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid = $1`,
          [pid],
        );
        waiting = rows[0]?.waiting ?? 0;
        if (waiting === 0) await sleep(20);
      }
      expect(waiting).toBe(1);
      // A claim now sees neither row: nothing of the key to split.
      expect(await store.claim({ owner: 'probe', limit: 10, now: Date.now(), leaseMs: 60_000 })).toEqual([]);
      await first.query('COMMIT');
      await secondInsert;
      // Committed first, claimed alone, before the second commits.
      const claimedFirst = await store.claim({ owner: 'probe', limit: 10, now: Date.now(), leaseMs: 60_000 });
      expect(claimedFirst.map(({ message }) => message.id)).toEqual([a.id]);
      await second.query('COMMIT');
      await store.markDelivered('probe', [a.id], Date.now(), false);
      const claimedSecond = await store.claim({ owner: 'probe', limit: 10, now: Date.now(), leaseMs: 60_000 });
      expect(claimedSecond.map(({ message }) => message.id)).toEqual([b.id]);
      await store.markDelivered('probe', [b.id], Date.now(), false);
    } finally {
      await first.query('ROLLBACK').catch(() => undefined);
      await second.query('ROLLBACK').catch(() => undefined);
      first.release();
      second.release();
    }
  }, 30_000);

  it('writers of several keys, including two whose lock hashes collide, never deadlock', async () => {
    // A real collision of hashtext(), found by the database: two different keys, one lock.
    const { rows } = await admin.query<{ a: string; b: string }>(
      `SELECT min(k) AS a, max(k) AS b FROM (SELECT 'key-' || i AS k FROM generate_series(1, 400000) i) s
       GROUP BY hashtext(k) HAVING count(*) > 1 LIMIT 1`,
    );
    expect(rows).toHaveLength(1);
    const pair = rows[0];
    expect(pair.a).not.toBe(pair.b);
    const keys = [pair.a, pair.b, 'x', 'y', 'z'];
    let deadlocks = 0;
    let committed = 0;
    // Each transaction writes the keys in its own random order, in one statement, and holds them a while.
    await Promise.all(
      Array.from({ length: PRODUCERS }, async () => {
        for (let round = 0; round < 8; round++) {
          const shuffled = [...keys].sort(() => Math.random() - 0.5).slice(0, 2 + Math.floor(Math.random() * 4));
          const messages = shuffled.map((key) => createMessage('.collide', { key }, { key }));
          const client = await admin.connect();
          try {
            await client.query('BEGIN');
            await pgOutboxWriter(client, store.appendStatement(messages));
            await sleep(Math.random() * 5);
            await client.query('COMMIT');
            committed++;
          } catch (error) {
            if ((error as { code?: string }).code === '40P01') deadlocks++;
            await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          } finally {
            client.release();
          }
        }
      }),
    );
    expect(deadlocks).toBe(0);
    expect(committed).toBe(PRODUCERS * 8);
    // The colliding keys share a lock: a writer of one waits for a transaction holding the other.
    const holder = await admin.connect();
    try {
      await holder.query('BEGIN');
      await pgOutboxWriter(holder, store.appendStatement([createMessage('.collide', {}, { key: pair.a })]));
      let blocked = true;
      const other = store.append([createMessage('.collide', {}, { key: pair.b })]).then(() => {
        blocked = false;
      });
      await sleep(200);
      expect(blocked).toBe(true);
      await holder.query('COMMIT');
      await other;
      expect(blocked).toBe(false);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
  }, 60_000);

  it("a transaction holding a key's lock for long makes the store's writers of that key fail after acquireTimeoutMs, not wait for ever; other keys and claims go on", async () => {
    const limited = new PostgresOutboxStore({
      connection: { connectionString: postgres.url, max: 3 },
      table,
      listen: false,
      acquireTimeoutMs: 1000,
    });
    await limited.onModuleInit();
    const holder = await admin.connect();
    /** Settles `work`, or says it still waits after `ms`. */
    const within = <T>(work: Promise<T>, ms: number): Promise<T | 'still waiting'> =>
      Promise.race([work, sleep(ms).then(() => 'still waiting' as const)]);
    try {
      // A transaction that wrote a message of the key early, and goes on working.
      await holder.query('BEGIN');
      await pgOutboxWriter(holder, store.appendStatement([createMessage('.held', {}, { key: 'held-long' })]));
      const writers = Array.from({ length: 3 }, (_, n) =>
        limited.append([createMessage('.held', { n }, { key: 'held-long' })]).then(
          () => 'stored',
          (error: unknown) => error,
        ),
      );
      const outcomes = await within(Promise.all(writers), 8000);
      expect(outcomes).not.toBe('still waiting');
      for (const outcome of outcomes as unknown[]) {
        expect(outcome).toBeInstanceOf(OutboxWriteError);
        expect((outcome as Error).message).toMatch(/lock of an ordering key/);
      }
      // The pool is free again: another key is written, and a claim runs.
      await expect(
        within(limited.append([createMessage('.free', {}, { key: 'free' })]), 8000),
      ).resolves.toBeUndefined();
      const claimed = await within(
        limited.claim({ owner: 'probe-long', limit: 10, now: Date.now(), leaseMs: 60_000 }),
        8000,
      );
      expect(claimed).not.toBe('still waiting');
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      await admin.query(`DELETE FROM ${table} WHERE topic IN ('.held', '.free')`);
      await limited.close();
    }
  }, 30_000);
});
