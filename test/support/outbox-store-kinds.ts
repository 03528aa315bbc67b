import mysql from 'mysql2/promise';
import pg from 'pg';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutboxStore } from '../../lib/kernel/outbox-store.interface.js';
import type { OutboxStoreContractSubject } from '../../lib/testing/outbox-store.contract.js';
import { MemoryOutboxStore } from '../../lib/stores/memory-outbox.store.js';
import { SqliteOutboxStore } from '../../lib/stores/sqlite/sqlite-outbox.store.js';
import { PostgresOutboxStore } from '../../lib/stores/postgres/postgres-outbox.store.js';
import { appendFunctionName } from '../../lib/stores/postgres/postgres-outbox.sql.js';
import { MysqlOutboxStore } from '../../lib/stores/mysql/mysql-outbox.store.js';
import { brokers } from './brokers.js';

/** One of the shipped stores, opened fresh per test by the store contract specs. */
export interface StoreKind {
  readonly name: string;
  /** Whether the store judges lease expiry by its own clock (the SQL stores), not by the caller's `now`. */
  readonly ownClock: boolean;
  open(): OutboxStore;
  close(store: OutboxStore): Promise<void>;
  /** Another store object on the same outbox as `store` (another process's), closed by `closeAnother`; none for memory. */
  another?(store: OutboxStore): OutboxStore;
  closeAnother?(store: OutboxStore): Promise<void>;
}

/**
 * The shipped stores: memory, SQLite (a file per test in a temporary folder removed after the
 * spec), PostgreSQL and MySQL/MariaDB (a table per test, created by the store, dropped after it).
 * Call at the top level of a spec (it registers an `afterAll`).
 */
export function outboxStoreKinds(prefix: string): StoreKind[] {
  const folder = mkdtempSync(join(tmpdir(), `${prefix}-`));
  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });
  let files = 0;
  const tablePrefix = prefix.replace(/[^a-z0-9]/g, '_');
  return [
    { name: 'MemoryOutboxStore', ownClock: false, open: () => new MemoryOutboxStore(), close: () => Promise.resolve() },
    {
      // Every message held compactly (its body as JSON text) until claimed, as a backlog is.
      name: 'MemoryOutboxStore, compact from the first message',
      ownClock: false,
      open: () => new MemoryOutboxStore({ compactFrom: 0 }),
      close: () => Promise.resolve(),
    },
    {
      name: 'SqliteOutboxStore',
      ownClock: true,
      open: () => new SqliteOutboxStore({ path: join(folder, `store-${String(++files)}.db`) }),
      close: (store) => (store as SqliteOutboxStore).close(),
      another: (store) => new SqliteOutboxStore({ path: (store as SqliteOutboxStore).path }),
      closeAnother: (store) => (store as SqliteOutboxStore).close(),
    },
    {
      name: 'PostgresOutboxStore',
      ownClock: true,
      open: () =>
        new PostgresOutboxStore({
          connectionString: brokers().postgres.url,
          table: `${tablePrefix}_${String(process.pid)}_${String(++files)}`,
          createSchema: true,
        }),
      close: async (store) => {
        const postgres = store as PostgresOutboxStore;
        await postgres.close();
        await dropPostgresOutbox(postgres.table);
      },
      another: (store) =>
        new PostgresOutboxStore({
          connectionString: brokers().postgres.url,
          table: (store as PostgresOutboxStore).table,
        }),
      closeAnother: (store) => (store as PostgresOutboxStore).close(),
    },
    {
      name: 'MysqlOutboxStore',
      ownClock: true,
      open: () =>
        new MysqlOutboxStore({
          connectionString: mysqlUrl(),
          table: `${tablePrefix}_${String(process.pid)}_${String(++files)}`,
          createSchema: true,
        }),
      close: async (store) => {
        const mysqlStore = store as MysqlOutboxStore;
        await mysqlStore.close();
        await dropMysqlOutbox(mysqlStore.table);
      },
    },
  ];
}

/** The tests' MariaDB database, as test/brokers/setup.sh wrote it down (a failure saying so when it did not). */
export function mysqlUrl(): string {
  const url = (brokers() as Partial<ReturnType<typeof brokers>>).mysql?.url;
  if (url === undefined)
    throw new Error('.test-brokers/brokers.json names no MariaDB: run "bash test/brokers/setup.sh" (npm test does)');
  return url;
}

/** Drops a MySQL outbox table made by the migrations, its key lock table and its version rows. */
export async function dropMysqlOutbox(table: string): Promise<void> {
  const connection = await mysql.createConnection(mysqlUrl());
  try {
    await connection.query(`DROP TABLE IF EXISTS ${table}, ${table}_key_locks`);
    await connection.query('DELETE FROM nestjs_messaging_schema WHERE table_name = ?', [table]).catch(() => undefined);
  } finally {
    await connection.end();
  }
}

/** Drops a PostgreSQL outbox table made by the migrations: the table, its functions, its version rows. */
export async function dropPostgresOutbox(table: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: brokers().postgres.url });
  try {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.query(`DROP FUNCTION IF EXISTS ${table}_notify()`);
    await pool.query(`DROP FUNCTION IF EXISTS ${table}_default_key()`);
    await pool.query(`DROP FUNCTION IF EXISTS ${appendFunctionName(table)}(json, boolean)`);
    await pool.query(`DROP FUNCTION IF EXISTS ${appendFunctionName(table)}(json)`);
    if ((await pool.query(`SELECT to_regclass('nestjs_messaging_schema') AS t`)).rows[0]?.t !== null)
      await pool.query('DELETE FROM nestjs_messaging_schema WHERE table_name = $1', [table]);
  } finally {
    await pool.end();
  }
}

/** `kind` as the exported store contract suite opens a store: fresh per case, with its `another()`. */
export function contractSubject(kind: StoreKind): OutboxStoreContractSubject {
  return {
    ownClock: kind.ownClock,
    open: () => {
      const store = kind.open();
      const others: OutboxStore[] = [];
      const { another, closeAnother } = kind;
      return {
        store,
        ...(another === undefined
          ? {}
          : {
              another: () => {
                const other = another(store);
                others.push(other);
                return other;
              },
            }),
        close: async () => {
          for (const other of others) await closeAnother?.(other);
          await kind.close(store);
        },
      };
    },
  };
}
