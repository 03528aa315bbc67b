import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessage } from '../kernel/message.factory.js';
import { SqliteOutboxStore } from '../stores/sqlite/sqlite-outbox.store.js';
import { PostgresOutboxStore } from '../stores/postgres/postgres-outbox.store.js';
import { brokers } from '../../test/support/brokers.js';
import type { OutboxStore } from '../kernel/outbox-store.interface.js';
import { runOutboxCommand } from './outbox-command.js';

describe('npx nestjs-messaging outbox', () => {
  let folder: string;
  let db: string;
  const dead = createMessage('.releases.added', { n: 1 });
  const pending = createMessage('.composes', { n: 2 });

  /** One dead message (its send was rejected) and one pending. */
  async function seed(store: OutboxStore): Promise<void> {
    await store.append([dead, pending]);
    const now = Date.now();
    await store.claim({ owner: 'app', limit: 1, now, leaseMs: 1000 });
    await store.reschedule(
      'app',
      [{ id: dead.id, error: 'rejected: too big', counted: true, nextAttemptAt: undefined }],
      now,
    );
  }

  beforeEach(async () => {
    folder = mkdtempSync(join(tmpdir(), 'outbox-cli-'));
    db = join(folder, 'outbox.db');
    const store = new SqliteOutboxStore({ path: db });
    await seed(store);
    await store.close();
  });
  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('stats counts per status', async () => {
    expect(await runOutboxCommand(['outbox', 'stats', '--db', db])).toEqual({
      exitCode: 0,
      output: 'pending 1\ndelivered 0\ndead 1\n',
    });
  });

  it('list shows pending messages by default, dead ones with their last error, or JSON lines', async () => {
    const pendingList = await runOutboxCommand(['outbox', 'list', '--db', db]);
    expect(pendingList.output).toMatch(new RegExp(`^${pending.id}  \\.composes  pending  attempts 0  next attempt `));
    const deadList = await runOutboxCommand(['outbox', 'list', '--db', db, '--status', 'dead']);
    expect(deadList.output).toContain(`${dead.id}  .releases.added  dead  attempts 1`);
    expect(deadList.output).toContain('last error: rejected: too big');
    const json = await runOutboxCommand(['outbox', 'list', '--db', db, '--status', 'dead', '--json']);
    expect(JSON.parse(json.output)).toMatchObject({ message: { id: dead.id, body: { n: 1 } }, attempts: 1 });
  });

  it('retry makes dead messages pending again, filtered by topic or id', async () => {
    expect((await runOutboxCommand(['outbox', 'retry', '--db', db, '--topic', '.other'])).output).toMatch(/^0 dead/);
    expect((await runOutboxCommand(['outbox', 'retry', '--db', db, '--id', dead.id])).output).toMatch(/^1 dead/);
    expect((await runOutboxCommand(['outbox', 'stats', '--db', db])).output).toBe('pending 2\ndelivered 0\ndead 0\n');
  });

  it('purge deletes settled messages older than an age, never pending ones', async () => {
    expect((await runOutboxCommand(['outbox', 'purge', '--db', db, '--older-than', '1h'])).output).toBe(
      '0 message(s) purged.\n',
    );
    expect((await runOutboxCommand(['outbox', 'purge', '--db', db])).output).toBe('1 message(s) purged.\n');
    expect((await runOutboxCommand(['outbox', 'stats', '--db', db])).output).toBe('pending 1\ndelivered 0\ndead 0\n');
  });

  it('answers a usage error with exit code 2 and the usage, and a missing file with 1, creating nothing', async () => {
    const noDb = await runOutboxCommand(['outbox', 'list']);
    expect(noDb.exitCode).toBe(2);
    expect(noDb.output).toMatch(
      /^Give the outbox: --db <file> \(SQLite\), --postgres <url> \(PostgreSQL\) or --mysql <url> \(MySQL\/MariaDB\), one of them\n\nUsage: nestjs-messaging outbox/,
    );
    expect((await runOutboxCommand(['outbox', 'purge', '--db', db, '--status', 'pending'])).output).toMatch(
      /^--status: purge never deletes pending messages/,
    );
    expect((await runOutboxCommand(['outbox', 'purge', '--db', db, '--older-than', 'soon'])).exitCode).toBe(2);
    expect((await runOutboxCommand(['outbox', 'explode', '--db', db])).exitCode).toBe(2);
    expect(await runOutboxCommand(['outbox', 'stats', '--db', join(folder, 'typo.db')])).toEqual({
      exitCode: 1,
      output: `No outbox file at ${join(folder, 'typo.db')}\n`,
    });
  });

  it('works on a PostgreSQL outbox with --postgres, and refuses a missing table without creating it', async () => {
    const url = brokers().postgres.url;
    const table = `outbox_cli_spec_${String(process.pid)}`;
    const store = new PostgresOutboxStore({ connectionString: url, table, createSchema: true });
    try {
      await seed(store);
      expect(await runOutboxCommand(['outbox', 'stats', '--postgres', url, '--table', table])).toEqual({
        exitCode: 0,
        output: 'pending 1\ndelivered 0\ndead 1\n',
      });
      expect((await runOutboxCommand(['outbox', 'retry', '--postgres', url, '--table', table])).output).toMatch(
        /^1 dead/,
      );
      expect((await store.counts()).pending).toBe(2);
      const missing = await runOutboxCommand(['outbox', 'stats', '--postgres', url, '--table', 'no_such_outbox']);
      expect(missing.exitCode).toBe(1);
      expect(missing.output).toContain('table: no_such_outbox does not exist');
    } finally {
      await store.close();
      const admin = new pg.Pool({ connectionString: url });
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
      await admin.query(`DROP FUNCTION IF EXISTS ${table}_notify()`);
      await admin.end();
    }
  });

  it("waits --busy-timeout for the application's lock on the SQLite file, then says how to wait longer", async () => {
    // The running application, mid-write: it holds the file's write lock.
    const application = new BetterSqlite3(db);
    application.exec('BEGIN IMMEDIATE');
    try {
      const started = Date.now();
      const busy = await runOutboxCommand(['outbox', 'retry', '--db', db, '--busy-timeout', '200']);
      const waited = Date.now() - started;
      expect(busy.exitCode).toBe(1);
      expect(busy.output).toContain('longer than --busy-timeout (200 ms); nothing was changed');
      expect(busy.output).toContain('--busy-timeout <ms>');
      expect(busy.output).not.toContain('busyTimeoutMs');
      expect(waited).toBeGreaterThanOrEqual(190);
      expect(waited).toBeLessThan(3000);
    } finally {
      application.exec('ROLLBACK');
      application.close();
    }
    expect((await runOutboxCommand(['outbox', 'retry', '--db', db, '--busy-timeout', '200'])).output).toMatch(
      /^1 dead/,
    );
  });

  it('refuses a --busy-timeout that is not a whole number of ms, or given for PostgreSQL', async () => {
    const bad = await runOutboxCommand(['outbox', 'stats', '--db', db, '--busy-timeout', '1.5s']);
    expect(bad.exitCode).toBe(2);
    expect(bad.output).toMatch(/^--busy-timeout: expected a whole number of milliseconds >= 0, got 1\.5s/);
    const postgres = await runOutboxCommand([
      'outbox',
      'stats',
      '--postgres',
      'postgres://x@127.0.0.1/x',
      '--busy-timeout',
      '10',
    ]);
    expect(postgres.output).toMatch(/^--busy-timeout: only for a SQLite outbox/);
    expect((await runOutboxCommand(['outbox', '--help'])).output).toContain('--busy-timeout <ms>');
  });
});
