import pg from 'pg';
import { brokers } from '../../../test/support/brokers.js';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { createMessage } from '../../kernel/message.factory.js';
import { PostgresOutboxStore } from './postgres-outbox.store.js';
import { PostgresPoolTimeoutError } from './postgres-pool-timeout.error.js';
import { dropPostgresOutbox } from '../../../test/support/outbox-store-kinds.js';

const url = (): string => brokers().postgres.url;
let tables = 0;

describe("PostgresOutboxStore on the application's pool", () => {
  let admin: pg.Pool;
  let table: string;
  const pools: pg.Pool[] = [];
  const stores: PostgresOutboxStore[] = [];
  const appPool = (max: number): pg.Pool => {
    // connectionTimeoutMillis 0: pg itself would wait for ever; the store must not.
    const pool = new pg.Pool({ connectionString: url(), max, connectionTimeoutMillis: 0 });
    pools.push(pool);
    return pool;
  };
  const open = (pool: pg.Pool, extra: Record<string, unknown> = {}): PostgresOutboxStore => {
    const store = new PostgresOutboxStore({ pool, table, createSchema: true, ...extra });
    stores.push(store);
    return store;
  };
  /** The rejection of `promise`, and how long it took, in ms. */
  const failureOf = async (promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> => {
    const started = Date.now();
    const error = await promise.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    return { error, ms: Date.now() - started };
  };
  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: url() });
    table = `outbox_pool_spec_${String(process.pid)}_${String(++tables)}`;
    // The table exists before the stores start: start-up then needs no DDL.
    await open(admin).onModuleInit();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(1).map((store) => store.close()));
    await Promise.all(pools.splice(0).map((pool) => pool.end()));
  });
  afterAll(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await dropPostgresOutbox(table);
    await admin.end();
  });

  it.each([
    [1, true, 3],
    [2, true, 3],
    [1, false, 2],
  ])(
    'fails start-up at once, naming pool, when a pool of max %d (listen: %s) cannot hold what the store keeps',
    async (max, listen, needed) => {
      const store = open(appPool(max), { listen });
      const { error, ms } = await failureOf(store.onModuleInit());
      expect(error).toBeInstanceOf(MessagingOptionsError);
      expect((error as Error).message).toContain('pool: PostgresOutboxStore keeps');
      expect((error as Error).message).toContain(`give it max >= ${String(needed)}`);
      expect(ms).toBeLessThan(2000);
      // A write fails the same way instead of hanging.
      const append = await failureOf(store.append([createMessage('.pool', {})]));
      expect((append.error as Error).message).toContain('pool: PostgresOutboxStore keeps');
    },
  );

  it('works on a pool just large enough, leaving the application its connection', async () => {
    const pool = appPool(3);
    const store = open(pool);
    await store.onModuleInit();
    await store.takeOverLeases('owner-a');
    const message = createMessage('.pool', { n: 1 });
    await store.append([message]);
    const claimed = await store.claim({ owner: 'owner-a', limit: 10, now: Date.now(), leaseMs: 30_000 });
    expect(claimed.map((entry) => entry.message.id)).toContain(message.id);
    await store.markDelivered(
      'owner-a',
      claimed.map((entry) => entry.message.id),
      Date.now(),
      false,
    );
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
  });

  it("fails at once, naming pool, when the store's kept connections come to fill the pool later", async () => {
    const store = open(appPool(3));
    await store.onModuleInit();
    await store.takeOverLeases('owner-a');
    // A second lease owner on the same store keeps a third connection: nothing is left for queries.
    const { error, ms } = await failureOf(store.takeOverLeases('owner-b'));
    expect(error).toBeInstanceOf(MessagingOptionsError);
    expect((error as Error).message).toContain('keeps 3 connection(s)');
    expect(ms).toBeLessThan(2000);
  });

  it('gives up after acquireTimeoutMs when the application holds every connection, and starts once one is free', async () => {
    const pool = appPool(3);
    const held = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    const store = open(pool, { acquireTimeoutMs: 300 });
    const { error, ms } = await failureOf(store.onModuleInit());
    expect(error).toBeInstanceOf(PostgresPoolTimeoutError);
    expect((error as Error).message).toContain('within 300 ms (acquireTimeoutMs)');
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(3000);
    for (const client of held) client.release();
    await store.onModuleInit();
    await store.append([createMessage('.pool', {})]);
  });

  it('rejects a bad acquireTimeoutMs when constructed, naming it', () => {
    expect(() => new PostgresOutboxStore({ pool: admin, acquireTimeoutMs: 0 })).toThrow(/acquireTimeoutMs: expected/);
  });
});
