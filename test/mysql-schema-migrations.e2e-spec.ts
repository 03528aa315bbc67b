import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import mysql from 'mysql2/promise';
import { runOutboxCommand } from '../lib/cli/outbox-command.js';
import { createMessage } from '../lib/kernel/message.factory.js';
import { MysqlOutboxStore } from '../lib/stores/mysql/mysql-outbox.store.js';
import { mysqlOutboxMigrations, mysqlStatements } from '../lib/stores/mysql/mysql-outbox.schema.js';
import { dropMysqlOutbox, mysqlUrl } from './support/outbox-store-kinds.js';

const url = mysqlUrl();
let tables = 0;

describe('MySQL/MariaDB schema versions', () => {
  let admin: mysql.Pool;
  let table: string;
  const stores: MysqlOutboxStore[] = [];
  const open = (extra: { createSchema?: boolean } = {}): MysqlOutboxStore => {
    const store = new MysqlOutboxStore({ connectionString: url, table, ...extra });
    stores.push(store);
    return store;
  };
  const versions = async (): Promise<number[]> =>
    (
      (
        await admin.query('SELECT version FROM nestjs_messaging_schema WHERE table_name = ? ORDER BY version', [table])
      )[0] as {
        version: number;
      }[]
    ).map(({ version }) => version);
  const run = async (sql: string): Promise<void> => {
    for (const statement of mysqlStatements(sql)) await admin.query(statement);
  };

  beforeAll(() => {
    admin = mysql.createPool(url);
  });
  beforeEach(() => {
    table = `outbox_my_migration_${String(process.pid)}_${String(++tables)}`;
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await dropMysqlOutbox(table);
  });
  afterAll(() => admin.end());

  it('creates the table from nothing with "outbox migrate", which "outbox status" then calls up to date', async () => {
    const args = ['--mysql', url, '--table', table];
    expect(await runOutboxCommand(['outbox', 'status', ...args])).toEqual({
      exitCode: 1,
      output: `${table}: schema version 0, this nestjs-messaging expects 4: missing: run "outbox migrate" to create it\n`,
    });
    const migrated = await runOutboxCommand(['outbox', 'migrate', ...args]);
    expect(migrated.exitCode).toBe(0);
    expect(migrated.output).toContain(`${table}: migrated from schema version 0 to 4:\n  1  the outbox table`);
    expect(await runOutboxCommand(['outbox', 'migrate', ...args])).toEqual({
      exitCode: 0,
      output: `${table}: at schema version 4, nothing to migrate.\n`,
    });
    expect((await runOutboxCommand(['outbox', 'status', ...args])).output).toContain('up to date');
    expect(await versions()).toEqual([1, 2, 3, 4]);
    // The store starts on it without createSchema, and the CLI's operators' commands read it.
    const store = open();
    await store.append([createMessage('.a', { n: 1 })]);
    expect((await runOutboxCommand(['outbox', 'stats', ...args])).output).toBe('pending 1\ndelivered 0\ndead 0\n');
  });

  it('refuses a table behind without createSchema, naming versions and command; migrates it without loss with it', async () => {
    await run(mysqlOutboxMigrations(table)[0].sql);
    await admin.query(
      `INSERT INTO ${table} (id, topic, body, headers, \`timestamp\`, created_at) VALUES ('old', '.old', '{"b":1,"a":2}', '{}', 5, UTC_TIMESTAMP(3))`,
    );
    await expect(open().onModuleInit()).rejects.toThrow(
      `table: ${table} is at schema version 1, this version of nestjs-messaging needs version 4; ` +
        `run "npx nestjs-messaging outbox migrate --mysql <url> --table ${table}"`,
    );
    const store = open({ createSchema: true });
    await store.onModuleInit();
    expect(await versions()).toEqual([1, 2, 3, 4]);
    const [entry] = await store.list({}, 10);
    expect(entry.message).toEqual({
      id: 'old',
      topic: '.old',
      key: '.old',
      body: { b: 1, a: 2 },
      headers: {},
      timestamp: 5,
    });
    expect(JSON.stringify(entry.message.body)).toBe('{"b":1,"a":2}');
    expect(entry.history).toEqual([]);
  });

  it('serves a table ahead of this code with a warning (a rolling deploy)', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await open({ createSchema: true }).onModuleInit();
      await admin.query(
        'INSERT INTO nestjs_messaging_schema (table_name, version, applied_at) VALUES (?, 5, UTC_TIMESTAMP(3))',
        [table],
      );
      const store = open();
      await store.onModuleInit();
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`${table} is at schema version 5, newer than the 4`));
      await store.append([createMessage('.a', {})]);
      expect((await store.counts()).pending).toBe(1);
    } finally {
      warn.mockRestore();
    }
  });

  it('migrates once when three instances start together', async () => {
    await Promise.all([1, 2, 3].map(() => open({ createSchema: true }).onModuleInit()));
    expect(await versions()).toEqual([1, 2, 3, 4]);
  });

  it('prints SQL for the mysql dialect that MariaDB runs, twice over without harm, and only what is above --from', async () => {
    const all = await runOutboxCommand(['outbox', 'sql', '--dialect', 'mysql', '--table', table]);
    expect(all.exitCode).toBe(0);
    expect(all.output).toContain(`-- nestjs-messaging outbox ${table}, migration 1: the outbox table and its indexes`);
    const above1 = await runOutboxCommand(['outbox', 'sql', '--dialect', 'mysql', '--table', table, '--from', '1']);
    expect(above1.output).not.toContain('migration 1');
    expect(above1.output).toContain('migration 2');
    // Idempotent: a migration tool that runs it again (or a run cut short and run again) does no harm.
    await run(all.output);
    await run(all.output);
    expect(await versions()).toEqual([1, 2, 3, 4]);
    // Migration 4's lock rows, each once, whatever the runs.
    const [locks] = (await admin.query(
      `SELECT COUNT(*) AS n, MIN(bucket) AS low, MAX(bucket) AS high FROM ${table}_key_locks`,
    )) as unknown as [{ n: number; low: number; high: number }[]];
    expect(locks[0]).toEqual({ n: 4096, low: 0, high: 4095 });
    await open().onModuleInit();
  });
});
