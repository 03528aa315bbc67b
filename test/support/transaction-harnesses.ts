import { MikroORM } from '@mikro-orm/postgresql';
import { sql as drizzleSql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import knex from 'knex';
import { Kysely, PostgresDialect, type ControlledTransaction } from 'kysely';
import pg from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import { prismaPgHarness } from './prisma-harness.js';

/** A handle that is not inside a transaction, and the cause the refusal must name. */
export interface OutsideHandle {
  readonly what: string;
  readonly handle: object;
  readonly cause: RegExp;
}

/**
 * One ORM (or driver) on one database, driven the way its users write transactions, for the
 * table-driven spec of `TransactionalOutbox.add(tx, ...)`.
 */
export interface TransactionHarness {
  readonly orm: string;
  readonly database: 'PostgreSQL' | 'MariaDB';
  /** Runs `fn` in a transaction: commits when it resolves, rolls back and rethrows when it throws. */
  transaction(fn: (tx: object) => Promise<void>): Promise<void>;
  /** Runs `fn` in a savepoint (nested transaction) of `tx`, rolled back when `fn` throws (the error swallowed). */
  savepoint(tx: object, fn: (tx: object) => Promise<void>): Promise<void>;
  /** Inserts a product row through `tx`. */
  insert(tx: object, name: string): Promise<void>;
  /** Handles outside any transaction; called once, after the other tests. */
  outside(): Promise<OutsideHandle[]>;
  close(): Promise<void>;
}

type Open = (products: string, url: string) => TransactionHarness;

const swallow = (): undefined => undefined;

/** node-postgres: a PoolClient, BEGIN / SAVEPOINT by hand. `oldPg` hides getTransactionStatus() (pg before 8.17). */
const openPg =
  (oldPg: boolean): Open =>
  (products, url) => {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    const connect = async (): Promise<pg.PoolClient> => {
      const client = await pool.connect();
      if (oldPg) Object.defineProperty(client, 'getTransactionStatus', { value: undefined, configurable: true });
      return client;
    };
    const held: pg.PoolClient[] = [];
    return {
      orm: oldPg ? 'pg (no getTransactionStatus)' : 'pg',
      database: 'PostgreSQL',
      transaction: async (fn) => {
        const client = await connect();
        try {
          await client.query('BEGIN');
          await fn(client);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        } finally {
          client.release();
        }
      },
      savepoint: async (tx, fn) => {
        const client = tx as pg.PoolClient;
        await client.query('SAVEPOINT nested');
        try {
          await fn(client);
          await client.query('RELEASE SAVEPOINT nested');
        } catch {
          await client.query('ROLLBACK TO SAVEPOINT nested');
        }
      },
      insert: async (tx, name) => {
        await (tx as pg.PoolClient).query(`INSERT INTO ${products} (name) VALUES ($1)`, [name]);
      },
      outside: async () => {
        const before = await connect();
        const committed = await connect();
        await committed.query('BEGIN');
        await committed.query('COMMIT');
        const failed = await connect();
        await failed.query('BEGIN');
        await failed.query('SELECT 1/0').catch(swallow);
        held.push(before, committed, failed);
        return [
          { what: 'the Pool', handle: pool, cause: /a pg Pool: .*PoolClient on which you ran BEGIN/ },
          { what: 'a client before BEGIN', handle: before, cause: /a pg client that is not inside a transaction/ },
          { what: 'a client after COMMIT', handle: committed, cause: /a pg client that is not inside a transaction/ },
          ...(oldPg ? [] : [{ what: 'a failed transaction', handle: failed, cause: /transaction has failed/ }]),
        ];
      },
      close: async () => {
        for (const client of held) client.release();
        await pool.end();
      },
    };
  };

const openKnex: Open = (products, url) => {
  const db = knex({ client: 'pg', connection: url, pool: { min: 0, max: 4 } });
  let done: object | undefined;
  return {
    orm: 'Knex',
    database: 'PostgreSQL',
    transaction: async (fn) => {
      await db.transaction(async (trx) => {
        await fn(trx);
        done = trx;
      });
    },
    savepoint: (tx, fn) => (tx as knex.Knex.Transaction).transaction((nested) => fn(nested)).then(swallow, swallow),
    insert: async (tx, name) => {
      await (tx as knex.Knex.Transaction).insert({ name }).into(products);
    },
    outside: () =>
      Promise.resolve([
        { what: 'the Knex instance', handle: db, cause: /a Knex instance \(its pool\)/ },
        { what: 'a committed trx', handle: done ?? {}, cause: /a Knex transaction that already committed/ },
      ]),
    close: () => db.destroy(),
  };
};

const openKysely: Open = (products, url) => {
  const db = new Kysely<Record<string, { name: string }>>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 4 }) }),
  });
  let committed: object | undefined;
  return {
    orm: 'Kysely',
    database: 'PostgreSQL',
    transaction: async (fn) => {
      const trx = await db.startTransaction().execute();
      try {
        await fn(trx);
      } catch (error) {
        await trx.rollback().execute();
        throw error;
      }
      await trx.commit().execute();
      committed = trx;
    },
    savepoint: async (tx, fn) => {
      const trx = await (tx as ControlledTransaction<Record<string, { name: string }>>).savepoint('nested').execute();
      try {
        await fn(trx);
        await trx.releaseSavepoint('nested').execute();
      } catch {
        await trx.rollbackToSavepoint('nested').execute();
      }
    },
    insert: async (tx, name) => {
      await (tx as Kysely<Record<string, { name: string }>>).insertInto(products).values({ name }).execute();
    },
    outside: () =>
      Promise.resolve([
        { what: 'the Kysely instance', handle: db, cause: /a Kysely instance \(its pool, or db\.connection\(\)\)/ },
        {
          what: 'a committed transaction',
          handle: committed ?? {},
          cause: /a Kysely transaction that already committed/,
        },
      ]),
    close: () => db.destroy(),
  };
};

/** `create()` at the first call, then the same promise. */
function lazy<T>(create: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= create());
}

const openMikroOrm = (products: string, orm: () => Promise<MikroORM>): TransactionHarness => ({
  orm: 'MikroORM',
  database: 'PostgreSQL',
  transaction: async (fn) => {
    await (await orm()).em.fork().transactional((em) => fn(em));
  },
  savepoint: (tx, fn) => (tx as MikroORM['em']).transactional((em) => fn(em)).then(swallow, swallow),
  insert: async (tx, name) => {
    await (tx as MikroORM['em']).execute(`INSERT INTO ${products} (name) VALUES (?)`, [name], 'run');
  },
  outside: async () => [
    {
      what: 'a fork outside a transaction',
      handle: (await orm()).em.fork(),
      cause: /a MikroORM EntityManager that is not inside a transaction/,
    },
  ],
  close: async () => {
    await (await orm()).close(true);
  },
});

const openTypeOrm = (products: string, source: () => Promise<DataSource>): TransactionHarness => ({
  orm: 'TypeORM',
  database: 'PostgreSQL',
  transaction: async (fn) => {
    await (await source()).transaction((manager) => fn(manager));
  },
  savepoint: (tx, fn) => (tx as EntityManager).transaction((manager) => fn(manager)).then(swallow, swallow),
  insert: async (tx, name) => {
    await (tx as EntityManager).query(`INSERT INTO ${products} (name) VALUES ($1)`, [name]);
  },
  outside: async () => [
    {
      what: 'dataSource.manager',
      handle: (await source()).manager,
      cause: /a TypeORM EntityManager that is not inside a transaction/,
    },
    {
      what: 'a QueryRunner before startTransaction()',
      handle: (await source()).createQueryRunner(),
      cause: /a QueryRunner before startTransaction\(\)/,
    },
  ],
  close: async () => {
    await (await source()).destroy();
  },
});

const openDrizzle: Open = (products, url) => {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const db = drizzle(pool);
  type Tx = Parameters<Parameters<typeof db.transaction>[0]>[0];
  return {
    orm: 'Drizzle',
    database: 'PostgreSQL',
    transaction: async (fn) => {
      await db.transaction((tx) => fn(tx));
    },
    savepoint: (tx, fn) => (tx as Tx).transaction((nested) => fn(nested)).then(swallow, swallow),
    insert: async (tx, name) => {
      await (tx as Tx).execute(drizzleSql`INSERT INTO ${drizzleSql.identifier(products)} (name) VALUES (${name})`);
    },
    outside: () => Promise.resolve([{ what: 'the database', handle: db, cause: /a Drizzle database \(its pool\)/ }]),
    close: () => pool.end(),
  };
};

/** Every ORM (and pg) on the PostgreSQL at `url`, on the products table `products`. */
export function transactionHarnesses(products: string, url: string): TransactionHarness[] {
  return [
    openPg(false)(products, url),
    openPg(true)(products, url),
    openKnex(products, url),
    openKysely(products, url),
    openMikroOrm(
      products,
      lazy(() =>
        MikroORM.init({ clientUrl: url, entities: [], discovery: { warnWhenNoEntities: false }, pool: { max: 4 } }),
      ),
    ),
    openTypeOrm(
      products,
      lazy(() => new DataSource({ type: 'postgres', url: url, poolSize: 4 }).initialize()),
    ),
    openDrizzle(products, url),
    prismaPgHarness(products, url),
  ];
}
