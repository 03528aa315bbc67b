import { Test, type TestingModule } from '@nestjs/testing';
import mysql from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { createMessage, MessagingModule, type Message, type Messenger } from 'nestjs-messaging';
import { MysqlOutboxStore } from 'nestjs-messaging/mysql';
import { typeormOutboxWriter } from 'nestjs-messaging/transactional';
import { mysqlKeyLockBucket } from '../lib/stores/mysql/mysql-outbox.sql.js';
import { dropMysqlOutbox, mysqlUrl } from './support/outbox-store-kinds.js';
import { sleep, waitFor } from './support/wait-for.js';

/*
 * Messages of one ordering key are delivered in COMMIT order on MySQL/MariaDB, as on PostgreSQL
 * (test/ordering-commit-order.e2e-spec.ts): a dozen producers overlap on one key, each holding its
 * transaction open for a random while after the insert, so that without the per-key lock rows a
 * transaction that inserts first (drawing the smaller AUTO_INCREMENT) and commits last would be
 * delivered first. Two dispatchers (two applications on the table) deliver; the consumer counts
 * inversions of commit order.
 */

const url = mysqlUrl();
const table = `mysql_commit_order_${String(process.pid)}`;
const PRODUCERS = 12;
const PER_PRODUCER = 10;
const KEY = 'account:42';

/** A global clock of events (sends, commits, deliveries) in this process. */
let tick = 0;

/** Records every message in the order the "bus" got it, from any of the dispatchers. */
class OrderedBus implements Messenger {
  readonly delivered: { id: string; at: number }[] = [];
  async send(messages: readonly Message[]): Promise<void> {
    await sleep(Math.random() * 3);
    for (const { id } of messages) this.delivered.push({ id, at: ++tick });
  }
}

/** When each message's commit was sent and when it was acknowledged. */
interface Committed {
  readonly id: string;
  readonly commitSent: number;
  readonly committed: number;
}

/** Pairs delivered against commit order: a committed before b's commit was sent, yet b went out first. */
function inversions(commits: readonly Committed[], delivered: readonly { id: string; at: number }[]): number {
  const at = new Map(delivered.map(({ id, at: when }) => [id, when]));
  let count = 0;
  for (const a of commits)
    for (const b of commits) if (a.committed < b.commitSent && (at.get(b.id) ?? 0) < (at.get(a.id) ?? 0)) count++;
  return count;
}

const admin = mysql.createPool({ uri: url, connectionLimit: PRODUCERS + 4 });
const apps: TestingModule[] = [];
let bus: OrderedBus;
let store: MysqlOutboxStore;

async function startDispatchers(): Promise<void> {
  bus = new OrderedBus();
  for (let i = 0; i < 2; i++) {
    const app = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({
          messenger: bus,
          outbox: new MysqlOutboxStore({ connectionString: url, table, createSchema: true, pollIntervalMs: 20 }),
          dispatch: { batchSize: 7, pollIntervalMs: 50 },
        }),
      ],
    }).compile();
    await app.init();
    apps.push(app);
  }
}

beforeAll(async () => {
  store = new MysqlOutboxStore({ connectionString: url, table, createSchema: true });
  await store.onModuleInit();
  await startDispatchers();
}, 30_000);

// One promise, not `dataSource ??= await ...`: the producers start at once, and each would open a pool.
let dataSource: Promise<DataSource> | undefined;
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await store.close();
  await (await dataSource)?.destroy();
  await dropMysqlOutbox(table);
  await admin.end();
}, 30_000);

type Writer = (message: Message, commits: Committed[]) => Promise<void>;

/** `MysqlOutboxStore.append()`: its own statement, committed at once. */
const storeAppend: Writer = async (message, commits) => {
  const commitSent = ++tick;
  await store.append([message]);
  commits.push({ id: message.id, commitSent, committed: ++tick });
};

/** `appendStatement()` on a mysql2 connection, in a transaction held open after the insert. */
const mysql2Transaction: Writer = async (message, commits) => {
  const connection = await admin.getConnection();
  try {
    await connection.beginTransaction();
    const { text, values } = store.appendStatement([message]);
    await connection.query(text, [...values]);
    await sleep(Math.random() * 15);
    const commitSent = ++tick;
    await connection.commit();
    commits.push({ id: message.id, commitSent, committed: ++tick });
  } finally {
    connection.release();
  }
};

/** The TypeORM transactional writer (its `?` placeholders as TypeORM's mysql driver takes them). */
const typeormTransaction: Writer = async (message, commits) => {
  dataSource ??= new DataSource({ type: 'mysql', url, poolSize: PRODUCERS }).initialize();
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

/**
 * Whether `pending` is still unsettled after 200 ms: a writer waiting for a lock row. (InnoDB's
 * information_schema.innodb_trx, cached by the server, showed a waiting writer only half the
 * time in trials: no use for a proof.)
 */
async function stillWaiting(pending: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(200);
  return !settled;
}

describe('ordering keys in commit order on MySQL/MariaDB', () => {
  it.each([
    ['MysqlOutboxStore.append()', storeAppend],
    ['appendStatement() on mysql2 transactions', mysql2Transaction],
    ['typeormOutboxWriter in transactions', typeormTransaction],
  ])(
    'a dozen producers overlapping on one key through %s: delivered in commit order, 0 inversions',
    async (writer, write: Writer) => {
      const commits: Committed[] = [];
      const before = bus.delivered.length;
      await Promise.all(
        Array.from({ length: PRODUCERS }, async (_, producer) => {
          for (let n = 0; n < PER_PRODUCER; n++) {
            await write(createMessage('.accounts.changed', { producer, n }, { key: KEY }), commits);
          }
        }),
      );
      const total = PRODUCERS * PER_PRODUCER;
      await waitFor(() => bus.delivered.length - before >= total, 20_000, `${String(total)} deliveries`);
      const delivered = bus.delivered.slice(before);
      expect(new Set(delivered.map(({ id }) => id)).size).toBe(total);
      const ordered = commits.flatMap((a) => commits.filter((b) => a.committed < b.commitSent)).length;
      process.stdout.write(
        `ordering (MySQL): ${writer}: ${String(PRODUCERS)} producers, ${String(total)} messages, ${String(ordered)} commit-ordered pairs, ${String(inversions(commits, delivered))} inversions\n`,
      );
      // The test can fail: producers' commits did overlap and interleave.
      expect(ordered).toBeGreaterThan(total);
      expect(inversions(commits, delivered)).toBe(0);
    },
    60_000,
  );

  it('a second writer of a key waits for the first one`s commit before its row draws a sequence (and would not without the lock row)', async () => {
    // Dispatchers are running: stop them from taking what the proof looks at.
    await Promise.all(apps.splice(0).map((app) => app.close()));
    const first = await admin.getConnection();
    const second = await admin.getConnection();
    const unlocked = (statement: { text: string }): string =>
      statement.text.replace(
        /IF\(\(SELECT COUNT\(\*\) FROM \S+ WHERE bucket IN \([\d, ]+\) FOR UPDATE\) >= 0, (UTC_TIMESTAMP\(3\)), NULL\)/,
        '$1',
      );
    const claimAll = async (): Promise<string[]> => {
      const claimed = await store.claim({ owner: 'probe', limit: 10, now: Date.now(), leaseMs: 60_000 });
      await store.markDelivered(
        'probe',
        claimed.map(({ message }) => message.id),
        Date.now(),
        false,
      );
      return claimed.map(({ message }) => message.id);
    };
    try {
      for (const withLock of [true, false]) {
        const a = createMessage('.split', { n: 1 }, { key: 'split' });
        const b = createMessage('.split', { n: 2 }, { key: 'split' });
        const statementA = store.appendStatement([a]);
        const statementB = store.appendStatement([b]);
        await first.beginTransaction();
        await first.query(withLock ? statementA.text : unlocked(statementA), [...statementA.values]);
        await second.beginTransaction();
        const secondInsert = second.query(withLock ? statementB.text : unlocked(statementB), [...statementB.values]);
        if (withLock) {
          expect(await stillWaiting(secondInsert)).toBe(true);
        } else {
          // Without the lock row nothing holds the second writer: it inserts, commits first, and is claimed first.
          await secondInsert;
          await second.commit();
          expect(await claimAll()).toEqual([b.id]);
          await first.commit();
          expect(await claimAll()).toEqual([a.id]);
          continue;
        }
        // A claim now sees neither row: nothing of the key to split.
        expect(await store.claim({ owner: 'probe', limit: 10, now: Date.now(), leaseMs: 60_000 })).toEqual([]);
        await first.commit();
        await secondInsert;
        // Committed first, claimed alone, before the second commits.
        expect(await claimAll()).toEqual([a.id]);
        await second.commit();
        expect(await claimAll()).toEqual([b.id]);
      }
    } finally {
      await first.rollback().catch(() => undefined);
      await second.rollback().catch(() => undefined);
      first.release();
      second.release();
    }
  }, 30_000);

  it('writers of several keys, including two that share a lock row, never deadlock', async () => {
    // Two different keys whose lock rows are one (CRC32 mod 4096), found by trying.
    const byBucket = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const key = `key-${String(i)}`;
      const other = byBucket.get(mysqlKeyLockBucket(key));
      if (other === undefined) byBucket.set(mysqlKeyLockBucket(key), key);
      else pair = [other, key];
    }
    const [x, y] = pair;
    const keys = [x, y, 'x', 'y', 'z'];
    let deadlocks = 0;
    let committed = 0;
    // Each transaction writes the keys in its own random order, in one statement, and holds them a while.
    await Promise.all(
      Array.from({ length: PRODUCERS }, async () => {
        for (let round = 0; round < 8; round++) {
          const shuffled = [...keys].sort(() => Math.random() - 0.5).slice(0, 2 + Math.floor(Math.random() * 4));
          const messages = shuffled.map((key) => createMessage('.collide', { key }, { key }));
          const connection = await admin.getConnection();
          try {
            await connection.beginTransaction();
            const { text, values } = store.appendStatement(messages);
            await connection.query(text, [...values]);
            await sleep(Math.random() * 5);
            await connection.commit();
            committed++;
          } catch (error) {
            if ((error as { errno?: number }).errno === 1213) deadlocks++;
            await connection.rollback().catch(() => undefined);
            throw error;
          } finally {
            connection.release();
          }
        }
      }),
    );
    expect(deadlocks).toBe(0);
    expect(committed).toBe(PRODUCERS * 8);
    // The keys that share a row share a lock: a writer of one waits for a transaction holding the other.
    const holder = await admin.getConnection();
    const waiter = await admin.getConnection();
    try {
      await holder.beginTransaction();
      const held = store.appendStatement([createMessage('.collide', {}, { key: x })]);
      await holder.query(held.text, [...held.values]);
      const blocked = store.appendStatement([createMessage('.collide', {}, { key: y })]);
      const other = waiter.query(blocked.text, [...blocked.values]);
      expect(await stillWaiting(other)).toBe(true);
      await holder.commit();
      await other;
    } finally {
      await holder.rollback().catch(() => undefined);
      holder.release();
      waiter.release();
    }
  }, 60_000);
});
