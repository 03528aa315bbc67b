import mysql from 'mysql2/promise';
import { dropMysqlOutbox, mysqlUrl } from '../../../test/support/outbox-store-kinds.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { createMessage } from '../../kernel/message.factory.js';
import { MysqlOutboxStore } from './mysql-outbox.store.js';

let tables = 0;
const tableName = (): string => `outbox_my_spec_${String(process.pid)}_${String(++tables)}`;

describe('MysqlOutboxStore with several instances (MariaDB)', () => {
  let admin: mysql.Pool;
  const opened: MysqlOutboxStore[] = [];
  const open = (table: string, extra: { pollIntervalMs?: number } = {}): MysqlOutboxStore => {
    const store = new MysqlOutboxStore({ connectionString: mysqlUrl(), table, createSchema: true, ...extra });
    opened.push(store);
    return store;
  };
  beforeAll(() => {
    admin = mysql.createPool(mysqlUrl());
  });
  afterEach(async () => {
    const used = new Set(opened.map(({ table }) => table));
    await Promise.all(opened.splice(0).map((store) => store.close()));
    for (const table of used) await dropMysqlOutbox(table);
  });
  afterAll(() => admin.end());

  it('claims concurrently without sending a message twice or splitting a topic between owners', async () => {
    const table = tableName();
    const writer = open(table);
    const topics = ['.a', '.b', '.c', '.d', '.e'];
    for (let request = 0; request < 100; request++) {
      await writer.append(topics.map((topic) => createMessage(topic, { request })));
    }
    const holders = new Map<string, string>();
    const received = new Map<string, number[]>(topics.map((topic) => [topic, []]));
    const claimedIds: string[] = [];
    const violations: string[] = [];
    const worker = async (owner: string): Promise<void> => {
      const store = open(table);
      for (;;) {
        const batch = await store.claim({ owner, limit: 7, now: Date.now(), leaseMs: 30_000 });
        if (batch.length === 0) {
          if ((await store.counts()).pending === 0) return;
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        for (const { message } of batch) {
          const holder = holders.get(message.topic);
          if (holder !== undefined && holder !== owner) violations.push(`${message.topic}: ${holder} and ${owner}`);
          holders.set(message.topic, owner);
          claimedIds.push(message.id);
          received.get(message.topic)?.push(message.body.request as number);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
        for (const { message } of batch) holders.delete(message.topic);
        await store.markDelivered(
          owner,
          batch.map(({ message }) => message.id),
          Date.now(),
          false,
        );
      }
    };
    await Promise.all(['one', 'two', 'three'].map(worker));
    expect(violations).toEqual([]);
    expect(claimedIds).toHaveLength(500);
    expect(new Set(claimedIds).size).toBe(500);
    const inOrder = [...Array(100).keys()];
    for (const topic of topics) expect(received.get(topic)).toEqual(inOrder);
  });

  it("wakes watchers within pollIntervalMs for another instance's committed rows, and at once for its own appends", async () => {
    const table = tableName();
    const store = open(table, { pollIntervalMs: 50 });
    await store.onModuleInit();
    let wakes = 0;
    store.watch(() => wakes++);
    // Another instance's transaction: the rolled-back row never shows, the committed one wakes the watcher.
    const connection = await admin.getConnection();
    try {
      await connection.query('START TRANSACTION');
      const rolledBack = store.appendStatement([createMessage('.rolled.back', {})]);
      await connection.query(rolledBack.text, [...rolledBack.values]);
      await connection.query('ROLLBACK');
      const committed = store.appendStatement([createMessage('.committed', {})]);
      expect(committed.placeholders).toBe('question');
      await connection.query('START TRANSACTION');
      await connection.query(committed.text, [...committed.values]);
      await connection.query('COMMIT');
    } finally {
      connection.release();
    }
    await waitFor(() => wakes > 0, 5000, 'a wake-up for the committed row');
    const before = wakes;
    await store.append([createMessage('.own', {})]);
    expect(wakes).toBeGreaterThan(before);
    expect((await store.list({}, 10)).map(({ message }) => message.topic)).toEqual(['.committed', '.own']);
  });

  it('skips a retention purge while another instance purges, and waits for an operator purge', async () => {
    const table = tableName();
    const store = open(table);
    await store.append([createMessage('.a', {})]);
    const [entry] = await store.claim({ owner: 'o', limit: 1, now: Date.now(), leaseMs: 1000 });
    await store.markDelivered('o', [entry.message.id], Date.now() - 10_000, true);
    const other = await admin.getConnection();
    try {
      const lock = `CONCAT('nm:', SHA1(CONCAT(DATABASE(), '.${table}')), ':purge')`;
      await other.query(`SELECT GET_LOCK(${lock}, 0)`);
      expect(await store.purge({ status: 'delivered' }, { skipIfBusy: true })).toBe(0);
      const waiting = store.purge({ status: 'delivered' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await store.counts()).toEqual({ pending: 0, delivered: 1, dead: 0 });
      await other.query(`SELECT RELEASE_LOCK(${lock})`);
      expect(await waiting).toBe(1);
    } finally {
      other.release();
    }
  });

  it('keeps the body as the text it was accepted as, key order included', async () => {
    const store = open(tableName());
    const message = createMessage('.order', { zeta: 1, alpha: { b: 2, a: [3, { y: 1, x: 2 }] }, 10: 'ten', é: '✓' });
    await store.append([message]);
    const [stored] = (await admin.query(`SELECT CAST(body AS CHAR) AS body FROM ${store.table}`))[0] as {
      body: string;
    }[];
    expect(stored.body).toBe(JSON.stringify(message.body));
    const [entry] = await store.claim({ owner: 'o', limit: 1, now: Date.now(), leaseMs: 1000 });
    expect(JSON.stringify(entry.message.body)).toBe(JSON.stringify(message.body));
  });

  it('refuses an id, topic or key longer than its columns rather than cutting it', async () => {
    const store = open(tableName());
    const long = createMessage('.a', {}, { key: 'k'.repeat(256) });
    await expect(store.append([long])).rejects.toThrow('the key of message');
    expect(await store.counts()).toEqual({ pending: 0, delivered: 0, dead: 0 });
  });

  it('fails start-up naming the table when it is missing and createSchema is off', async () => {
    const store = new MysqlOutboxStore({ connectionString: mysqlUrl(), table: 'no_such_outbox_table' });
    try {
      await expect(store.onModuleInit()).rejects.toThrow(
        'table: no_such_outbox_table does not exist; run "npx nestjs-messaging outbox migrate --mysql <url> --table no_such_outbox_table", apply the SQL of the migrations above version 0 in your migration tool, or set createSchema: true',
      );
    } finally {
      await store.close();
    }
  });

  it('fails start-up saying MySQL cannot be reached, and what to check, when nothing listens', async () => {
    const store = new MysqlOutboxStore({ connectionString: 'mysql://root@127.0.0.1:1/nowhere' });
    try {
      await expect(store.onModuleInit()).rejects.toThrow(
        /connectionString, connection, pool: cannot reach MySQL \(.*ECONNREFUSED.*\); check the host, port, database and credentials/,
      );
    } finally {
      await store.close();
    }
  });

  it("fails start-up naming pool when the application's pool is too small for the lock it keeps", async () => {
    const pool = mysql.createPool({ uri: mysqlUrl(), connectionLimit: 1 });
    const store = new MysqlOutboxStore({ pool, table: tableName() });
    try {
      await expect(store.onModuleInit()).rejects.toThrow('pool: its connectionLimit is 1');
    } finally {
      await store.close();
      await pool.end();
    }
  });

  it('rejects bad options at construction, naming each one', () => {
    expect(
      () =>
        new MysqlOutboxStore({
          connectionString: 'postgres://x',
          table: 'Drop Table',
          pollIntervalMs: 0,
          createSchema: 'yes' as unknown as boolean,
        }),
    ).toThrow(
      [
        'Invalid MysqlOutboxStore options:',
        '  - connectionString: expected a mysql:// URL, got "postgres://x"',
        '  - table: expected a lower-case SQL identifier of at most 54 characters, optionally database-qualified, got "Drop Table"',
        '  - createSchema: expected true or false, got "yes"',
        '  - pollIntervalMs: expected a whole number of milliseconds from 10 to 2147483647, got 0',
      ].join('\n'),
    );
    // `<table>_key_locks` must stay within MySQL's 64 characters; the database part may be longer.
    const url = 'mysql://x@localhost/db';
    expect(() => new MysqlOutboxStore({ connectionString: url, table: 't'.repeat(55) })).toThrow(/table: expected/);
    expect(new MysqlOutboxStore({ connectionString: url, table: `${'d'.repeat(64)}.${'t'.repeat(54)}` }).table).toBe(
      `${'d'.repeat(64)}.${'t'.repeat(54)}`,
    );
  });
});
