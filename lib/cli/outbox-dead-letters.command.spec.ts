import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessage } from '../kernel/message.factory.js';
import type { OutboxStore } from '../kernel/outbox-store.interface.js';
import { PostgresOutboxStore } from '../stores/postgres/postgres-outbox.store.js';
import { SqliteOutboxStore } from '../stores/sqlite/sqlite-outbox.store.js';
import { brokers } from '../../test/support/brokers.js';
import { dropPostgresOutbox } from '../../test/support/outbox-store-kinds.js';
import { runOutboxCommand } from './outbox-command.js';

const LEASE = { leaseMs: 1000 };

/** Where the command finds the outbox, and a store on the same outbox for the test's own looks. */
interface Target {
  readonly name: string;
  args(): string[];
  open(): OutboxStore & { close(): Promise<void> };
  drop(): Promise<void>;
}

const folder = mkdtempSync(join(tmpdir(), 'outbox-dlq-cli-'));
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});
let made = 0;
const TARGETS: Target[] = [
  (() => {
    let db = '';
    return {
      name: 'SQLite (--db)',
      args: () => ['--db', db],
      open: () => new SqliteOutboxStore({ path: (db = db || join(folder, `dlq-${String(++made)}.db`)) }),
      drop: () => Promise.resolve(void (db = '')),
    };
  })(),
  (() => {
    let table = '';
    return {
      name: 'PostgreSQL (--postgres)',
      args: () => ['--postgres', brokers().postgres.url, '--table', table],
      open: () =>
        new PostgresOutboxStore({
          connectionString: brokers().postgres.url,
          table: (table = table || `outbox_dlq_cli_${String(process.pid)}_${String(++made)}`),
          createSchema: true,
        }),
      drop: () => dropPostgresOutbox(table).then(() => void (table = '')),
    };
  })(),
];

describe.each(TARGETS)('npx nestjs-messaging outbox on dead letters, $name', (target) => {
  const rejected = createMessage('.orders', { n: 1 }, { key: 'order-1' });
  const behind = createMessage('.orders', { n: 2 }, { key: 'order-1' });
  const exhausted = createMessage('.audit', { n: 3 }, { key: null });
  const run = (command: string, ...args: string[]) => runOutboxCommand(['outbox', command, ...target.args(), ...args]);

  /** `rejected`: dead (an uncounted outage, then refused for good); `behind`: pending behind it on its key; `exhausted`: dead. */
  beforeEach(async () => {
    const store = target.open();
    try {
      await store.append([rejected, behind, exhausted]);
      const now = Date.now();
      await store.claim({ owner: 'app', limit: 1, now, ...LEASE });
      const outage = { error: 'bus unreachable', counted: false, nextAttemptAt: now, messenger: 'AmqpMessenger' };
      await store.reschedule('app', [{ id: rejected.id, ...outage }], now);
      await store.claim({ owner: 'app', limit: 1, now, ...LEASE });
      const refusal = { error: 'amqp:not-found: no exchange', counted: true, messenger: 'AmqpMessenger' };
      await store.reschedule(
        'app',
        [{ id: rejected.id, ...refusal, nextAttemptAt: undefined, deadReason: 'rejected' }],
        now,
      );
      await store.claim({ owner: 'app', limit: 10, now, ...LEASE });
      const failure = { id: exhausted.id, error: 'timeout', counted: true, nextAttemptAt: undefined };
      await store.reschedule('app', [failure], now);
      await store.reschedule('app', [{ id: behind.id, error: 'later', counted: false, nextAttemptAt: now }], now);
    } finally {
      await store.close();
    }
  });
  afterEach(() => target.drop());

  it('show prints one message with its reason and every attempt; --json gives the entry', async () => {
    const shown = await run('show', rejected.id);
    expect(shown.exitCode).toBe(0);
    expect(shown.output).toContain(`${rejected.id}  .orders  dead  attempts 1`);
    expect(shown.output).toContain('reason rejected');
    expect(shown.output).toContain('key: order-1');
    expect(shown.output).toContain('history (2):');
    expect(shown.output).toMatch(/ {6}\S+Z {2}AmqpMessenger {2}not counted {2}bus unreachable\n/);
    expect(shown.output).toMatch(/ {6}\S+Z {2}AmqpMessenger {2}counted {2}amqp:not-found: no exchange\n/);
    const json = JSON.parse((await run('show', '--id', rejected.id, '--json')).output) as Record<string, unknown>;
    expect(json).toMatchObject({ status: 'dead', deadReason: 'rejected', history: [{ counted: false }, {}] });
    expect(await run('show', 'no-such-id')).toEqual({ exitCode: 1, output: 'No message no-such-id in the outbox\n' });
    expect((await run('show')).output).toMatch(/^show: give the id of one message/);
  });

  it('list filters by reason, key, or no key', async () => {
    expect((await run('list', '--status', 'dead', '--reason', 'rejected')).output).toMatch(
      new RegExp(`^${rejected.id} .*reason rejected\\n`),
    );
    const byKey = (await run('list', '--status', 'pending', '--key', 'order-1')).output;
    expect(byKey).toMatch(new RegExp(`^${behind.id} `));
    expect((await run('list', '--status', 'dead', '--unordered')).output).toMatch(new RegExp(`^${exhausted.id} `));
  });

  it('requeue refuses an empty filter, changing nothing; with one, the message goes out before those behind it', async () => {
    const refused = await run('requeue');
    expect(refused.exitCode).toBe(2);
    expect(refused.output).toMatch(/^requeue: no filter .* would requeue every dead message; nothing was changed/);
    expect((await run('requeue', '--status', 'dead')).exitCode).toBe(2);
    expect((await run('stats')).output).toBe('pending 1\ndelivered 0\ndead 2\n');
    expect((await run('requeue', '--reason', 'expired')).output).toMatch(/^0 dead/);
    expect((await run('requeue', '--key', 'order-1')).output).toMatch(/^1 dead/);
    const store = target.open();
    try {
      const claimed = await store.claim({ owner: 'next', limit: 10, now: Date.now() + 10, ...LEASE });
      // Its original place on its key: before the message accepted after it.
      expect(claimed.map(({ message }) => message.id)).toEqual([rejected.id, behind.id]);
      expect(claimed[0]).toMatchObject({ attempts: 0, history: [{ counted: false }, { counted: true }] });
      expect('deadReason' in claimed[0]).toBe(false);
    } finally {
      await store.close();
    }
    expect((await run('retry', '--all')).output).toMatch(/^1 dead/);
  });

  it('purge refuses an empty filter (a status alone is none), and deletes what a filter or --all selects', async () => {
    const refused = await run('purge', '--status', 'dead');
    expect(refused.exitCode).toBe(2);
    expect(refused.output).toMatch(/^purge: no filter .* every settled message; nothing was changed/);
    expect((await run('purge', '--unordered', '--older-than', '1h')).output).toBe('0 message(s) purged.\n');
    expect((await run('purge', '--unordered')).output).toBe('1 message(s) purged.\n');
    expect((await run('purge', '--status', 'delivered', '--all')).output).toBe('0 message(s) purged.\n');
    expect((await run('purge', '--all')).output).toBe('1 message(s) purged.\n');
    expect((await run('stats')).output).toBe('pending 1\ndelivered 0\ndead 0\n');
  });

  it('refuses options that do not fit, naming them', async () => {
    expect((await run('list', '--all')).output).toMatch(/^--all: only for requeue and purge/);
    expect((await run('list', '--key', 'k', '--unordered')).output).toMatch(/^--key, --unordered: give one/);
    expect((await run('list', '--reason', 'tired')).output).toMatch(/^--reason: expected exhausted, rejected/);
    expect((await run('requeue', '--status', 'pending', '--all')).output).toMatch(/^--status: requeue changes only/);
    expect((await run('list', '--reason', 'tired')).exitCode).toBe(2);
  });
});
