import { MikroORM } from '@mikro-orm/mariadb';
import { sql as drizzleSql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/mysql2';
import knex from 'knex';
import { Kysely, MysqlDialect, type ControlledTransaction } from 'kysely';
import { createPool } from 'mysql2';
import mysql from 'mysql2/promise';
import { DataSource, type EntityManager } from 'typeorm';
import { prismaMariaDbHarness } from './prisma-harness.js';
import type { TransactionHarness } from './transaction-harnesses.js';

const swallow = (): undefined => undefined;
const database = 'MariaDB' as const;

/** mysql2/promise: a pool connection, beginTransaction() and SAVEPOINT by hand. */
function mysql2Harness(products: string, url: string): TransactionHarness {
  const pool = mysql.createPool({ uri: url, connectionLimit: 4 });
  const held: mysql.PoolConnection[] = [];
  return {
    orm: 'mysql2',
    database,
    transaction: async (fn) => {
      const connection = await pool.getConnection();
      try {
        await connection.beginTransaction();
        await fn(connection);
        await connection.commit();
      } catch (error) {
        await connection.rollback();
        throw error;
      } finally {
        connection.release();
      }
    },
    savepoint: async (tx, fn) => {
      const connection = tx as mysql.PoolConnection;
      await connection.query('SAVEPOINT nested');
      try {
        await fn(connection);
        await connection.query('RELEASE SAVEPOINT nested');
      } catch {
        await connection.query('ROLLBACK TO SAVEPOINT nested');
      }
    },
    insert: async (tx, name) => {
      await (tx as mysql.PoolConnection).query(`INSERT INTO ${products} (name) VALUES (?)`, [name]);
    },
    outside: async () => {
      const before = await pool.getConnection();
      const committed = await pool.getConnection();
      await committed.beginTransaction();
      await committed.commit();
      held.push(before, committed);
      return [
        { what: 'the pool', handle: pool, cause: /a mysql2 pool: .*beginTransaction\(\)/ },
        {
          what: 'a connection before BEGIN',
          handle: before,
          cause: /a mysql2 connection that is not inside a transaction/,
        },
        {
          what: 'a connection after COMMIT',
          handle: committed,
          cause: /a mysql2 connection that is not inside a transaction/,
        },
      ];
    },
    close: async () => {
      for (const connection of held) connection.release();
      await pool.end();
    },
  };
}

function knexHarness(products: string, url: string): TransactionHarness {
  const db = knex({ client: 'mysql2', connection: url, pool: { min: 0, max: 4 } });
  return {
    orm: 'Knex',
    database,
    transaction: async (fn) => {
      await db.transaction((trx) => fn(trx));
    },
    savepoint: (tx, fn) => (tx as knex.Knex.Transaction).transaction((nested) => fn(nested)).then(swallow, swallow),
    insert: async (tx, name) => {
      await (tx as knex.Knex.Transaction).insert({ name }).into(products);
    },
    outside: () => Promise.resolve([{ what: 'the Knex instance', handle: db, cause: /a Knex instance \(its pool\)/ }]),
    close: () => db.destroy(),
  };
}

type Db = Record<string, { name: string }>;

function kyselyHarness(products: string, url: string): TransactionHarness {
  const db = new Kysely<Db>({
    dialect: new MysqlDialect({ pool: createPool({ uri: url, connectionLimit: 4 }) }),
  });
  return {
    orm: 'Kysely',
    database,
    transaction: async (fn) => {
      const trx = await db.startTransaction().execute();
      try {
        await fn(trx);
      } catch (error) {
        await trx.rollback().execute();
        throw error;
      }
      await trx.commit().execute();
    },
    savepoint: async (tx, fn) => {
      const trx = await (tx as ControlledTransaction<Db>).savepoint('nested').execute();
      try {
        await fn(trx);
        await trx.releaseSavepoint('nested').execute();
      } catch {
        await trx.rollbackToSavepoint('nested').execute();
      }
    },
    insert: async (tx, name) => {
      await (tx as Kysely<Db>).insertInto(products).values({ name }).execute();
    },
    outside: () => Promise.resolve([{ what: 'the Kysely instance', handle: db, cause: /a Kysely instance/ }]),
    close: () => db.destroy(),
  };
}

function mikroOrmHarness(products: string, url: string): TransactionHarness {
  let orm: Promise<MikroORM> | undefined;
  const open = (): Promise<MikroORM> =>
    (orm ??= MikroORM.init({
      clientUrl: url,
      entities: [],
      discovery: { warnWhenNoEntities: false },
      pool: { max: 4 },
    }));
  return {
    orm: 'MikroORM',
    database,
    transaction: async (fn) => {
      await (await open()).em.fork().transactional((em) => fn(em));
    },
    savepoint: (tx, fn) => (tx as MikroORM['em']).transactional((em) => fn(em)).then(swallow, swallow),
    insert: async (tx, name) => {
      await (tx as MikroORM['em']).execute(`INSERT INTO ${products} (name) VALUES (?)`, [name], 'run');
    },
    outside: async () => [
      {
        what: 'a fork',
        handle: (await open()).em.fork(),
        cause: /a MikroORM EntityManager that is not inside a transaction/,
      },
    ],
    close: async () => {
      if (orm !== undefined) await (await orm).close(true);
    },
  };
}

function typeOrmHarness(products: string, url: string): TransactionHarness {
  let source: Promise<DataSource> | undefined;
  const open = (): Promise<DataSource> =>
    (source ??= new DataSource({ type: 'mariadb', url: url, poolSize: 4 }).initialize());
  return {
    orm: 'TypeORM',
    database,
    transaction: async (fn) => {
      await (await open()).transaction((manager) => fn(manager));
    },
    savepoint: (tx, fn) => (tx as EntityManager).transaction((manager) => fn(manager)).then(swallow, swallow),
    insert: async (tx, name) => {
      await (tx as EntityManager).query(`INSERT INTO ${products} (name) VALUES (?)`, [name]);
    },
    outside: async () => [
      {
        what: 'dataSource.manager',
        handle: (await open()).manager,
        cause: /a TypeORM EntityManager that is not inside/,
      },
    ],
    close: async () => {
      if (source !== undefined) await (await source).destroy();
    },
  };
}

function drizzleHarness(products: string, url: string): TransactionHarness {
  const pool = mysql.createPool({ uri: url, connectionLimit: 4 });
  const db = drizzle(pool);
  type Tx = Parameters<Parameters<typeof db.transaction>[0]>[0];
  return {
    orm: 'Drizzle',
    database,
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
}

/** Every ORM (and mysql2) on the MariaDB (or MySQL) at `url` (`mysql://...`), on the products table `products`. */
export function mariaDbHarnesses(products: string, url: string): TransactionHarness[] {
  return [
    mysql2Harness(products, url),
    knexHarness(products, url),
    kyselyHarness(products, url),
    mikroOrmHarness(products, url),
    typeOrmHarness(products, url),
    drizzleHarness(products, url),
    prismaMariaDbHarness(products, url),
  ];
}
