import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessage } from '../../kernel/message.factory.js';
import { SqliteOutboxStore } from './sqlite-outbox.store.js';

// The behaviour every store shares is in ../outbox-store.spec.ts.
const LEASE = { leaseMs: 1000 };
const folder = mkdtempSync(join(tmpdir(), 'sqlite-outbox-spec-'));
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe('SqliteOutboxStore durability', () => {
  it('keeps pending and dead messages, and their state, across a close and reopen', async () => {
    const path = join(folder, 'reopen.db');
    const store = new SqliteOutboxStore({ path });
    const messages = [createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 })];
    await store.append(messages);
    const now = Date.now();
    const [first] = await store.claim({ owner: 'o', limit: 1, now, ...LEASE });
    await store.reschedule(
      'o',
      [{ id: first.message.id, error: 'gone', counted: true, nextAttemptAt: undefined }],
      now,
    );
    await store.close();
    const reopened = new SqliteOutboxStore({ path });
    try {
      expect(await reopened.counts()).toEqual({ pending: 1, delivered: 0, dead: 1 });
      expect((await reopened.claim({ owner: 'p', limit: 10, now, ...LEASE }))[0].message).toEqual(messages[1]);
    } finally {
      await reopened.close();
    }
  });

  it('commits appends of one event-loop turn together, and one bad request does not fail the others', async () => {
    const store = new SqliteOutboxStore({ path: join(folder, 'group.db') });
    try {
      const existing = createMessage('.a', {});
      await store.append([existing]);
      const good = [createMessage('.a', { n: 1 })];
      // A row the table refuses (topic NOT NULL), as a store written in plain JavaScript might hand it.
      const bad = { ...createMessage('.c', {}), topic: null as unknown as string };
      const results = await Promise.allSettled([
        store.append(good),
        store.append([bad]),
        store.append([createMessage('.b', {})]),
        // A duplicate id is an idempotent no-op, not a failure.
        store.append([existing]),
      ]);
      expect(results.map(({ status }) => status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect(String((results[1] as PromiseRejectedResult).reason)).toContain(`in the outbox (${bad.id})`);
      expect(await store.counts()).toEqual({ pending: 3, delivered: 0, dead: 0 });
    } finally {
      await store.close();
    }
  });

  it('rejects bad options at construction, naming each one', () => {
    expect(
      () =>
        new SqliteOutboxStore({ path: '', synchronous: 'always' as 'full', table: 'drop table', busyTimeoutMs: -1 }),
    ).toThrow(
      [
        'Invalid SqliteOutboxStore options:',
        '  - path: expected a file path, got ""',
        '  - synchronous: expected "full" or "normal", got "always"',
        '  - table: expected an SQL identifier (letters, digits, _), got "drop table"',
        '  - busyTimeoutMs: expected a whole number of milliseconds >= 0, got -1',
      ].join('\n'),
    );
    expect(() => new SqliteOutboxStore({ path: join(folder, 'missing-folder', 'x.db') })).toThrow('path: cannot open');
    expect(() => new SqliteOutboxStore({ path: ':memory:' })).toThrow('path: :memory: cannot be used in WAL mode');
  });
});
