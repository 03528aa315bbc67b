import pg from 'pg';
import { createMessage } from '../../kernel/message.factory.js';
import { brokers } from '../../../test/support/brokers.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { dropPostgresOutbox } from '../../../test/support/outbox-store-kinds.js';
import { PostgresOutboxStore } from './postgres-outbox.store.js';

// The transactional path: the statement an application's own transaction runs. (The store's other
// behaviour is proven by the exported contract suite, lib/stores/outbox-store.spec.ts.)
describe('PostgresOutboxStore.appendStatement', () => {
  const table = `outbox_append_statement_${String(process.pid)}`;
  let store: PostgresOutboxStore;
  beforeEach(() => {
    store = new PostgresOutboxStore({ connectionString: brokers().postgres.url, table, createSchema: true });
  });
  afterEach(async () => {
    await store.close();
    await dropPostgresOutbox(table);
  });

  it('writes keys and first due times, as append() does', async () => {
    await store.onModuleInit();
    const now = Date.now();
    const messages = [createMessage('.t', { n: 1 }, { key: 'k' }), createMessage('.t', { n: 2 }, { key: null })];
    const { text, values } = store.appendStatement(messages, {
      availableAt: new Map([[messages[1].id, now + 30_000]]),
    });
    const client = new pg.Client({ connectionString: brokers().postgres.url });
    await client.connect();
    try {
      await client.query(text, [...values]);
    } finally {
      await client.end();
    }
    const listed = await store.list({}, 10);
    expect(listed.map(({ message }) => message)).toEqual(messages);
    expect(listed[0].nextAttemptAt).toBe(listed[0].createdAt);
    expect(Math.abs(listed[1].nextAttemptAt - (now + 30_000))).toBeLessThan(50);
  });

  it('sends NOTIFY for a plain statement, none for one whose caller announces the messages itself', async () => {
    await store.onModuleInit();
    const listener = new pg.Client({ connectionString: brokers().postgres.url });
    const writer = new pg.Client({ connectionString: brokers().postgres.url });
    await listener.connect();
    await writer.connect();
    try {
      const notified: string[] = [];
      listener.on('notification', ({ channel }) => notified.push(channel));
      await listener.query(`LISTEN "${table}"`);
      const quiet = store.appendStatement([createMessage('.t', { n: 1 })], { announcedLocally: true });
      const plain = store.appendStatement([createMessage('.t', { n: 2 })]);
      expect(quiet.text).not.toBe(plain.text);
      await writer.query(quiet.text, [...quiet.values]);
      // In one transaction, an insert of other code after the quiet one still notifies.
      const later = createMessage('.t', { n: 3 });
      await writer.query('BEGIN');
      await writer.query(quiet.text, [JSON.stringify([])]);
      await writer.query(
        `INSERT INTO ${table} (id, topic, body, headers, "timestamp") VALUES ($1, '.t', '{}', '{}', 0)`,
        [later.id],
      );
      await writer.query('COMMIT');
      await writer.query(plain.text, [...plain.values]);
      // PostgreSQL delivers notifications in commit order: once the marker sent last is in, every
      // earlier one is.
      await listener.query(`LISTEN "${table}_marker"`);
      await writer.query(`NOTIFY "${table}_marker"`);
      await waitFor(() => notified.includes(`${table}_marker`), 5000, 'the marker notification');
      // The later insert's and the plain statement's: none of the quiet one.
      expect(notified).toEqual([table, table, `${table}_marker`]);
      expect(await store.list({}, 10)).toHaveLength(3);
    } finally {
      await listener.end();
      await writer.end();
    }
  });

  it('fails start-up, naming the fix, when the append function is missing or the role may not execute it', async () => {
    await store.onModuleInit();
    const admin = new pg.Client({ connectionString: brokers().postgres.url });
    const role = `outbox_no_execute_${String(process.pid)}`;
    await admin.connect();
    try {
      const fn = `${table}_append(json, boolean)`;
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      await admin.query(`GRANT ALL ON ${table}, nestjs_messaging_schema TO ${role}`);
      await admin.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM PUBLIC`);
      const url = new URL(brokers().postgres.url);
      url.username = role;
      const asRole = new PostgresOutboxStore({ connectionString: url.toString(), table, listen: false });
      await expect(asRole.onModuleInit()).rejects.toThrow(`GRANT EXECUTE ON FUNCTION ${fn} TO ${role}`);
      await asRole.close();
      await admin.query(`DROP FUNCTION ${fn}`);
      const again = new PostgresOutboxStore({ connectionString: brokers().postgres.url, table, listen: false });
      await expect(again.onModuleInit()).rejects.toThrow(`its append function ${fn} is missing`);
      await again.close();
    } finally {
      await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });

  it('gives each of two long-named tables an append function of its own, where cutting names to 63 bytes would not', async () => {
    // Cut to PostgreSQL's 63 bytes, "<long>_append" and "<long>_ap_append" would both be "<long>_ap".
    const long = `outbox_long_${String(process.pid)}_`.padEnd(60, 'x');
    const tables = [long, `${long}_ap`];
    const stores = tables.map(
      (name) => new PostgresOutboxStore({ connectionString: brokers().postgres.url, table: name, createSchema: true }),
    );
    try {
      for (const each of stores) await each.onModuleInit();
      const messages = stores.map((_, index) => createMessage('.t', { n: index }));
      for (const [index, each] of stores.entries()) await each.append([messages[index]]);
      for (const [index, each] of stores.entries()) {
        expect((await each.list({}, 10)).map((entry) => entry.message)).toEqual([messages[index]]);
      }
    } finally {
      for (const each of stores) await each.close();
      for (const name of tables) await dropPostgresOutbox(name);
    }
  });

  it("calls the append function of a schema-qualified table in the table's schema, whatever the search_path", async () => {
    const schema = `append_schema_${String(process.pid)}`;
    const admin = new pg.Client({ connectionString: brokers().postgres.url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      const qualified = new PostgresOutboxStore({
        connectionString: brokers().postgres.url,
        table: `${schema}.outbox`,
        createSchema: true,
      });
      try {
        await qualified.onModuleInit();
        const message = createMessage('.t', { n: 1 });
        const { text, values } = qualified.appendStatement([message]);
        await admin.query('BEGIN');
        await admin.query('SET LOCAL search_path = pg_catalog');
        await admin.query(text, [...values]);
        await admin.query('COMMIT');
        expect((await qualified.list({}, 10)).map((entry) => entry.message)).toEqual([message]);
      } finally {
        await qualified.close();
      }
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });
});
