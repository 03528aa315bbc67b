import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokers } from '../../test/support/brokers.js';
import { dropPostgresOutbox } from '../../test/support/outbox-store-kinds.js';
import { postgresSchemaBeforeVersions, sqliteSchemaBeforeVersions } from '../../test/fixtures/outbox-schema-v1.js';
import { runOutboxCommand } from './outbox-command.js';

describe('npx nestjs-messaging outbox status | migrate | sql', () => {
  let folder: string;
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'outbox-schema-cli-'));
  });
  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('prints the migrations for a dialect, all or above --from, without connecting', async () => {
    const all = await runOutboxCommand(['outbox', 'sql', '--dialect', 'postgres', '--table', 'app.outbox']);
    expect(all.exitCode).toBe(0);
    expect(all.output).toContain('-- nestjs-messaging outbox app.outbox, migration 1: the outbox table');
    expect(all.output).toContain('CREATE TABLE IF NOT EXISTS app.outbox (');
    expect(all.output).toContain('CREATE TABLE IF NOT EXISTS app.nestjs_messaging_schema (');
    const pending = await runOutboxCommand(['outbox', 'sql', '--dialect', 'sqlite', '--from', '1']);
    expect(pending.output).not.toContain('migration 1:');
    expect(pending.output).toContain('migration 2: ordering keys');
    expect(pending.output).toContain('ALTER TABLE nestjs_messaging_outbox ADD COLUMN ordering_key TEXT;');
    expect((await runOutboxCommand(['outbox', 'sql', '--dialect', 'sqlite', '--from', '3'])).output).toBe(
      '-- nestjs_messaging_outbox: no migration above schema version 3\n',
    );
    const bad = await runOutboxCommand(['outbox', 'sql', '--dialect', 'oracle']);
    expect(bad.exitCode).toBe(2);
    expect(bad.output).toContain('--dialect: expected postgres, mysql or sqlite, got "oracle"');
    expect((await runOutboxCommand(['outbox', 'stats', '--db', 'x.db', '--from', '1'])).output).toContain(
      '--dialect, --from: only for the sql command',
    );
  });

  it('reports and migrates a SQLite file of the DDL before versions; other commands refuse it until then', async () => {
    const path = join(folder, 'old.db');
    const db = new BetterSqlite3(path);
    db.exec(sqliteSchemaBeforeVersions('nestjs_messaging_outbox'));
    db.prepare(
      `INSERT INTO nestjs_messaging_outbox (id, topic, body, headers, timestamp, created_at, next_attempt_at)
       VALUES ('m1', '.a', '{}', '{}', 1, 1, 1)`,
    ).run();
    db.close();
    expect(await runOutboxCommand(['outbox', 'status', '--db', path])).toEqual({
      exitCode: 1,
      output:
        'nestjs_messaging_outbox: schema version 1, this nestjs-messaging expects 3: behind: run "outbox migrate" ' +
        '(or apply "outbox sql --from <version>" in your migration tool)\n',
    });
    const refused = await runOutboxCommand(['outbox', 'stats', '--db', path]);
    expect(refused.exitCode).toBe(1);
    expect(refused.output).toContain('is at schema version 1, this version of nestjs-messaging needs version 3');
    expect(await runOutboxCommand(['outbox', 'migrate', '--db', path])).toEqual({
      exitCode: 0,
      output:
        'nestjs_messaging_outbox: migrated from schema version 1 to 3:\n' +
        '  2  ordering keys, dead reasons, attempt history (at most 50 records)\n' +
        '  3  messages that hold their ordering key (delayed, or failed under onFailure: hold)\n',
    });
    expect((await runOutboxCommand(['outbox', 'status', '--db', path])).exitCode).toBe(0);
    expect((await runOutboxCommand(['outbox', 'migrate', '--db', path])).output).toBe(
      'nestjs_messaging_outbox: at schema version 3, nothing to migrate.\n',
    );
    expect((await runOutboxCommand(['outbox', 'stats', '--db', path])).output).toBe('pending 1\ndelivered 0\ndead 0\n');
  });

  it('reports, refuses and migrates a PostgreSQL table of the DDL before versions', async () => {
    const url = brokers().postgres.url;
    const table = `outbox_schema_cli_${String(process.pid)}`;
    const admin = new pg.Pool({ connectionString: url });
    try {
      const missing = await runOutboxCommand(['outbox', 'status', '--postgres', url, '--table', table]);
      expect(missing).toEqual({
        exitCode: 1,
        output: `${table}: schema version 0, this nestjs-messaging expects 4: missing: run "outbox migrate" to create it\n`,
      });
      await admin.query(postgresSchemaBeforeVersions(table));
      const stats = await runOutboxCommand(['outbox', 'stats', '--postgres', url, '--table', table]);
      expect(stats.exitCode).toBe(1);
      expect(stats.output).toContain(`run "npx nestjs-messaging outbox migrate --postgres <url> --table ${table}"`);
      const migrated = await runOutboxCommand(['outbox', 'migrate', '--postgres', url, '--table', table]);
      expect(migrated.output).toBe(
        `${table}: migrated from schema version 1 to 4:\n` +
          '  2  ordering keys, dead reasons, attempt history (at most 50 records)\n' +
          '  3  messages that hold their ordering key (delayed, or failed under onFailure: hold)\n' +
          '  4  the append function, planned once per connection\n',
      );
      expect(await runOutboxCommand(['outbox', 'status', '--postgres', url, '--table', table])).toEqual({
        exitCode: 0,
        output: `${table}: schema version 4, this nestjs-messaging expects 4: up to date\n`,
      });
      expect((await runOutboxCommand(['outbox', 'stats', '--postgres', url, '--table', table])).exitCode).toBe(0);
    } finally {
      await admin.end();
      await dropPostgresOutbox(table);
    }
  });
});
