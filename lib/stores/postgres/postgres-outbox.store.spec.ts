import pg from 'pg';
import { brokers } from '../../../test/support/brokers.js';
import { createMessage } from '../../kernel/message.factory.js';
import { PostgresOutboxStore } from './postgres-outbox.store.js';
import { dropPostgresOutbox } from '../../../test/support/outbox-store-kinds.js';

const url = (): string => brokers().postgres.url;
let tables = 0;
const tableName = (): string => `outbox_pg_spec_${String(process.pid)}_${String(++tables)}`;

describe('PostgresOutboxStore with several instances', () => {
  let admin: pg.Pool;
  const opened: PostgresOutboxStore[] = [];
  const open = (table: string, extra: { listen?: boolean } = {}): PostgresOutboxStore => {
    const store = new PostgresOutboxStore({ connectionString: url(), table, createSchema: true, ...extra });
    opened.push(store);
    return store;
  };
  beforeAll(() => {
    admin = new pg.Pool({ connectionString: url() });
  });
  afterEach(async () => {
    const tablesUsed = new Set(opened.map(({ table }) => table));
    await Promise.all(opened.splice(0).map((store) => store.close()));
    for (const table of tablesUsed) {
      await dropPostgresOutbox(table);
    }
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
      const store = open(table, { listen: false });
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

  it('wakes watchers when a transaction with messages commits, not when it rolls back', async () => {
    const table = tableName();
    const store = open(table);
    await store.onModuleInit();
    let wakes = 0;
    store.watch(() => wakes++);
    // The LISTEN connection calls back once when it is up.
    await waitFor(() => wakes >= 1);
    const before = wakes;
    const client = await admin.connect();
    try {
      const statement = store.appendStatement([createMessage('.rolled.back', {})]);
      await client.query('BEGIN');
      await client.query(statement.text, [...statement.values]);
      await client.query('ROLLBACK');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(wakes).toBe(before);
      const committed = store.appendStatement([createMessage('.committed', {})]);
      await client.query('BEGIN');
      await client.query(committed.text, [...committed.values]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(wakes).toBe(before);
      await client.query('COMMIT');
      await waitFor(() => wakes > before);
    } finally {
      client.release();
    }
    expect((await store.list({}, 10)).map(({ message }) => message.topic)).toEqual(['.committed']);
  });

  it('skips a retention purge while another instance purges, and waits for an operator purge', async () => {
    const table = tableName();
    const store = open(table);
    await store.append([createMessage('.a', {})]);
    const [entry] = await store.claim({ owner: 'o', limit: 1, now: Date.now(), leaseMs: 1000 });
    await store.markDelivered('o', [entry.message.id], Date.now() - 10_000, true);
    const other = await admin.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(hashtext($1), 2)', [table]);
      expect(await store.purge({ status: 'delivered' }, { skipIfBusy: true })).toBe(0);
      const waiting = store.purge({ status: 'delivered' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await other.query('COMMIT');
      expect(await waiting).toBe(1);
    } finally {
      other.release();
    }
  });

  it('keeps the body as it was accepted, key order included', async () => {
    const table = tableName();
    const store = open(table);
    const message = createMessage('.order', { zeta: 1, alpha: { b: 2, a: [3, { y: 1, x: 2 }] } });
    await store.append([message]);
    const [entry] = await store.claim({ owner: 'o', limit: 1, now: Date.now(), leaseMs: 1000 });
    expect(JSON.stringify(entry.message.body)).toBe(JSON.stringify(message.body));
  });

  it('fails start-up naming the table when it is missing and createSchema is off', async () => {
    const store = new PostgresOutboxStore({ connectionString: url(), table: 'no_such_outbox_table' });
    try {
      await expect(store.onModuleInit()).rejects.toThrow(
        'table: no_such_outbox_table does not exist; run "npx nestjs-messaging outbox migrate --postgres <url> --table no_such_outbox_table", apply the SQL of the migrations above version 0 in your migration tool, or set createSchema: true',
      );
    } finally {
      await store.close();
    }
  });

  it('fails start-up saying PostgreSQL cannot be reached, and what to check, when nothing listens', async () => {
    const store = new PostgresOutboxStore({ connectionString: 'postgres://postgres@127.0.0.1:1/nowhere' });
    try {
      await expect(store.onModuleInit()).rejects.toThrow(
        /connectionString, connection, pool: cannot reach PostgreSQL \(.*ECONNREFUSED.*\); check the host, port, database and credentials/,
      );
    } finally {
      await store.close();
    }
  });

  it('rejects bad options at construction, naming each one', () => {
    expect(() => new PostgresOutboxStore({ table: 'Drop Table', createSchema: 'yes' as unknown as boolean })).toThrow(
      [
        'Invalid PostgresOutboxStore options:',
        '  - pool, connectionString, connection: expected exactly one of them, got 0',
        '  - table: expected a lower-case SQL identifier, optionally schema-qualified, got "Drop Table"',
        '  - createSchema: expected true or false, got "yes"',
      ].join('\n'),
    );
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
