import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { OutboxEntry, OutboxStore } from '../lib/kernel/outbox-store.interface.js';
import { PostgresOutboxStore } from '../lib/stores/postgres/postgres-outbox.store.js';
import { postgresOutboxSchema } from '../lib/stores/postgres/postgres-outbox.schema.js';
import { SqliteOutboxStore } from '../lib/stores/sqlite/sqlite-outbox.store.js';
import { brokers } from './support/brokers.js';
import { dropPostgresOutbox } from './support/outbox-store-kinds.js';
import { postgresSchemaBeforeVersions, sqliteSchemaBeforeVersions } from './fixtures/outbox-schema-v1.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const HOUR = 3_600_000;

/**
 * Rows in every state a table of the DDL before versions can hold, written as that code wrote
 * them: [id, topic, status, attempts, last_error, settled?, leased?, retry later?].
 */
const ROWS = [
  ['p1', '.a', 'pending', 0, null, false, false, false],
  ['p2', '.a', 'pending', 0, null, false, true, false],
  ['p3', '.b', 'pending', 2, 'refused', false, false, true],
  ['d1', '.a', 'delivered', 0, null, true, false, false],
  ['x1', '.b', 'dead', 5, 'too big', true, false, false],
] as const;

/** What must survive the migration: everything the entries said before, plus the new defaults. */
function expectMigrated(entries: readonly OutboxEntry[]): void {
  expect(entries.map(({ message }) => message.id)).toEqual(ROWS.map(([id]) => id));
  entries.forEach((entry, index) => {
    const [id, topic, status, attempts, lastError, settled, leased] = ROWS[index];
    expect(entry.message).toEqual({ id, topic, key: topic, body: { id, n: index }, headers: { h: 1 }, timestamp: 5 });
    expect(entry).toMatchObject({ status, attempts, history: [] });
    expect(entry.lastError).toBe(lastError ?? undefined);
    expect(entry.settledAt !== undefined).toBe(settled);
    expect(entry.lease?.owner).toBe(leased ? 'old-owner' : undefined);
    expect('deadReason' in entry).toBe(false);
  });
}

describe('PostgreSQL schema versions', () => {
  const url = brokers().postgres.url;
  const table = `outbox_migration_${String(process.pid)}`;
  let admin: pg.Pool;
  const stores: OutboxStore[] = [];
  const open = (extra: { createSchema?: boolean } = {}): PostgresOutboxStore => {
    const store = new PostgresOutboxStore({ connectionString: url, table, listen: false, ...extra });
    stores.push(store);
    return store;
  };

  beforeAll(() => {
    admin = new pg.Pool({ connectionString: url });
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await (store as PostgresOutboxStore).close();
    await dropPostgresOutbox(table);
    jest.restoreAllMocks();
  });
  afterAll(() => admin.end());

  async function createBeforeVersions(): Promise<void> {
    await admin.query(postgresSchemaBeforeVersions(table));
    for (const [index, [id, topic, status, attempts, error, settled, leased, later]] of ROWS.entries()) {
      await admin.query(
        `INSERT INTO ${table} (id, topic, body, headers, "timestamp", status, attempts, last_error, settled_at,
           lease_owner, lease_expires_at, next_attempt_at)
         VALUES ($1, $2, $3, '{"h":1}', 5, $4, $5, $6, CASE WHEN $7 THEN now() END,
           CASE WHEN $8 THEN 'old-owner' END, CASE WHEN $8 THEN now() + interval '1 hour' END,
           CASE WHEN $9 THEN now() + interval '1 hour' END)`,
        [id, topic, JSON.stringify({ id, n: index }), status, attempts, error, settled, leased, later],
      );
    }
  }

  it('refuses a table of the DDL before versions without createSchema, naming both versions and the command', async () => {
    await createBeforeVersions();
    await expect(open().onModuleInit()).rejects.toThrow(
      `table: ${table} is at schema version 1, this version of nestjs-messaging needs version 4; ` +
        `run "npx nestjs-messaging outbox migrate --postgres <url> --table ${table}"`,
    );
  });

  it('migrates a table of the DDL before versions without losing a row, in any status', async () => {
    await createBeforeVersions();
    const store = open({ createSchema: true });
    await store.onModuleInit();
    expectMigrated(await store.list({}, 100));
    const { rows } = await admin.query<{ version: number }>(
      'SELECT version FROM nestjs_messaging_schema WHERE table_name = $1 ORDER BY version',
      [table],
    );
    // Version 1 was the table as found: only migrations 2 to 4 ran.
    expect(rows.map(({ version }) => version)).toEqual([2, 3, 4]);
    // The claim still sees the old lease and retry times.
    const claimed = await store.claim({ owner: 'new', limit: 10, now: Date.now(), leaseMs: 1000 });
    expect(claimed.map(({ message }) => message.id)).toEqual(['p1']);
  });

  it('gives rows inserted by older code (no ordering_key column) their topic as key, and keeps an explicit null', async () => {
    await open({ createSchema: true }).onModuleInit();
    await admin.query(
      `INSERT INTO ${table} (id, topic, body, headers, "timestamp") VALUES ('old', '.t', '{}', '{}', 1)`,
    );
    await admin.query(
      `INSERT INTO ${table} (id, topic, ordering_key, body, headers, "timestamp") VALUES ('none', '.t', NULL, '{}', '{}', 1)`,
    );
    const entries = await stores[0].list({}, 10);
    expect(entries.map(({ message }) => message.key)).toEqual(['.t', null]);
  });

  it('serves a table ahead of this code (a rolling deploy), with a warning naming the versions', async () => {
    await admin.query(postgresOutboxSchema(table));
    await admin.query(`INSERT INTO nestjs_messaging_schema (table_name, version) VALUES ($1, 5)`, [table]);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const store = open();
    await store.onModuleInit();
    expect(warn.mock.calls.map(([text]) => String(text))).toContainEqual(
      expect.stringContaining(
        `${table} is at schema version 5, newer than the 4 this version of nestjs-messaging knows`,
      ),
    );
    await store.append([]);
    expect(await store.counts()).toEqual({ pending: 0, delivered: 0, dead: 0 });
  });

  it('lets instances starting together migrate once (advisory lock), and postgresOutboxSchema() stays idempotent', async () => {
    const starting = [open({ createSchema: true }), open({ createSchema: true }), open({ createSchema: true })];
    await Promise.all(starting.map((store) => store.onModuleInit()));
    await admin.query(postgresOutboxSchema(table));
    const { rows } = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM nestjs_messaging_schema WHERE table_name = $1',
      [table],
    );
    expect(rows[0].n).toBe(4);
    await open().onModuleInit();
  });
});

describe('SQLite schema versions', () => {
  const folder = mkdtempSync(join(tmpdir(), 'schema-migrations-'));
  let files = 0;
  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  function fileBeforeVersions(): string {
    const path = join(folder, `outbox-${String(++files)}.db`);
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec(sqliteSchemaBeforeVersions('nestjs_messaging_outbox'));
    const insert = db.prepare(
      `INSERT INTO nestjs_messaging_outbox (id, topic, body, headers, timestamp, created_at, status, attempts,
         last_error, settled_at, lease_owner, lease_expires_at, next_attempt_at) VALUES (?, ?, ?, '{"h":1}', 5, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const now = Date.now();
    for (const [index, [id, topic, status, attempts, error, settled, leased, later]] of ROWS.entries()) {
      insert.run(
        id,
        topic,
        JSON.stringify({ id, n: index }),
        now,
        status,
        attempts,
        error,
        settled ? now : null,
        leased ? 'old-owner' : null,
        leased ? now + HOUR : null,
        later ? now + HOUR : now,
      );
    }
    db.close();
    return path;
  }

  it('refuses a file of the DDL before versions with createSchema: false, naming the versions and the command', () => {
    const path = fileBeforeVersions();
    expect(() => new SqliteOutboxStore({ path, createSchema: false })).toThrow(
      `table: nestjs_messaging_outbox is at schema version 1, this version of nestjs-messaging needs version 3; ` +
        `run "npx nestjs-messaging outbox migrate --db ${path} --table nestjs_messaging_outbox"`,
    );
  });

  it('migrates a file of the DDL before versions at start-up without losing a row, in any status', async () => {
    const path = fileBeforeVersions();
    const store = new SqliteOutboxStore({ path });
    try {
      expectMigrated(await store.list({}, 100));
      const claimed = await store.claim({ owner: 'new', limit: 10, now: Date.now(), leaseMs: 1000 });
      expect(claimed.map(({ message }) => message.id)).toEqual(['p1']);
    } finally {
      await store.close();
    }
    // Reopened: nothing left to migrate, and no longer refused.
    await new SqliteOutboxStore({ path, createSchema: false }).close();
  });

  it('serves a file ahead of this code, with a warning', async () => {
    const path = join(folder, `ahead-${String(++files)}.db`);
    await new SqliteOutboxStore({ path }).close();
    const db = new Database(path);
    db.prepare(`INSERT INTO nestjs_messaging_schema VALUES ('nestjs_messaging_outbox', 4, 0)`).run();
    db.close();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const store = new SqliteOutboxStore({ path, createSchema: false });
    await store.close();
    expect(warn.mock.calls.map(([text]) => String(text))).toContainEqual(
      expect.stringContaining('nestjs_messaging_outbox is at schema version 4, newer than the 3'),
    );
    warn.mockRestore();
  });
});
