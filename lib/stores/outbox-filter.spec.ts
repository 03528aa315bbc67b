import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type { OutboxFilter } from '../kernel/outbox-admin-store.interface.js';
import type { DeadReason, OutboxStatus } from '../kernel/outbox-entry.interface.js';
import { filterTimeOf, outboxFilterPredicate, outboxFilterSql } from './outbox-filter.js';
import { POSTGRES_FILTER_DIALECT } from './postgres/postgres-outbox.sql.js';
import { SqlParameters } from './sql-parameters.js';
import { SQLITE_FILTER_DIALECT } from './sqlite/sqlite-outbox.admin.js';
import { sqliteOutboxSchema } from './sqlite/sqlite-outbox.schema.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

interface Stored {
  readonly message: { readonly id: string; readonly topic: string; readonly key: string | null };
  readonly status: OutboxStatus;
  readonly createdAt: number;
  readonly settledAt: number | undefined;
  readonly deadReason?: DeadReason;
}

const stored = (
  id: string,
  topic: string,
  status: OutboxStatus,
  createdAt: number,
  settledAt?: number,
  extra: { key?: string | null; deadReason?: DeadReason } = {},
): Stored => ({
  message: { id, topic, key: extra.key === undefined ? topic : extra.key },
  status,
  createdAt,
  settledAt,
  ...(extra.deadReason === undefined ? {} : { deadReason: extra.deadReason }),
});

const STORED: readonly Stored[] = [
  stored('p1', '.a', 'pending', 100),
  stored('p2', '.b', 'pending', 300, undefined, { key: 'k' }),
  stored('d1', '.a', 'delivered', 100, 400, { key: null }),
  stored('x1', '.b', 'dead', 200, 250, { key: 'k', deadReason: 'rejected' }),
  stored('x2', '.a', 'dead', 50, undefined, { deadReason: 'exhausted' }),
  // Dead before reasons were kept (schema version 1).
  stored('x3', '.c', 'dead', 60, 70),
];

function selectInSql(filter: OutboxFilter): string[] {
  const db = new Database(':memory:');
  try {
    db.exec(sqliteOutboxSchema('outbox'));
    const insert = db.prepare(
      `INSERT INTO outbox (id, topic, ordering_key, body, headers, timestamp, created_at, status, next_attempt_at,
         settled_at, dead_reason)
       VALUES (?, ?, ?, '{}', '{}', 0, ?, ?, 0, ?, ?)`,
    );
    for (const s of STORED)
      insert.run(
        s.message.id,
        s.message.topic,
        s.message.key,
        s.createdAt,
        s.status,
        s.settledAt ?? null,
        s.deadReason ?? null,
      );
    const parameters = new SqlParameters((index) => `@p${String(index)}`);
    const where = outboxFilterSql(filter, SQLITE_FILTER_DIALECT, parameters);
    const named = Object.fromEntries(parameters.values.map((value, index) => [`p${String(index + 1)}`, value]));
    return (db.prepare(`SELECT id FROM outbox WHERE ${where} ORDER BY sequence`).all(named) as { id: string }[]).map(
      ({ id }) => id,
    );
  } finally {
    db.close();
  }
}

const CASES: readonly { filter: OutboxFilter; selected: string[] }[] = [
  { filter: {}, selected: ['p1', 'p2', 'd1', 'x1', 'x2', 'x3'] },
  { filter: { status: 'dead' }, selected: ['x1', 'x2', 'x3'] },
  { filter: { key: 'k' }, selected: ['p2', 'x1'] },
  { filter: { key: '.a' }, selected: ['p1', 'x2'] },
  { filter: { key: null }, selected: ['d1'] },
  { filter: { reason: 'rejected' }, selected: ['x1'] },
  { filter: { reason: 'exhausted', key: '.a' }, selected: ['x2'] },
  { filter: { reason: 'expired' }, selected: [] },
  { filter: { reason: 'rejected', status: 'pending' }, selected: [] },
  { filter: { topic: '.a', status: 'pending' }, selected: ['p1'] },
  { filter: { ids: ['x1', 'p1', 'unknown'] }, selected: ['p1', 'x1'] },
  { filter: { ids: [] }, selected: [] },
  // Pending by storing time, settled by settling time (storing time without one), strictly before.
  { filter: { before: 300 }, selected: ['p1', 'x1', 'x2', 'x3'] },
  { filter: { before: 250 }, selected: ['p1', 'x2', 'x3'] },
  { filter: { before: 401, topic: '.a' }, selected: ['p1', 'd1', 'x2'] },
];

describe('the outbox filter', () => {
  it.each(CASES)('in memory and in SQL alike: %j', ({ filter, selected }) => {
    expect(STORED.filter(outboxFilterPredicate(filter)).map(({ message }) => message.id)).toEqual(selected);
    expect(selectInSql(filter)).toEqual(selected);
  });

  it('compares a pending message by when it was stored, a settled one by when it was settled', () => {
    expect(filterTimeOf(stored('p', '.a', 'pending', 10, 99))).toBe(10);
    expect(filterTimeOf(stored('d', '.a', 'delivered', 10, 99))).toBe(99);
    expect(filterTimeOf(stored('x', '.a', 'dead', 10))).toBe(10);
  });

  it('binds every value, in the order the placeholders appear (PostgreSQL: one array of ids, timestamps)', () => {
    const parameters = new SqlParameters((index) => `$${String(index)}`);
    const filter = { status: 'dead', topic: '.a', key: 'k', reason: 'expired', ids: ['x'], before: 5 } as const;
    const where = outboxFilterSql(filter, POSTGRES_FILTER_DIALECT, parameters);
    expect(where).toBe(
      "1 = 1 AND status = $1 AND topic = $2 AND ordering_key = $3 AND status = 'dead' AND dead_reason = $4 AND id = ANY($5::text[]) AND (CASE WHEN status = 'pending' THEN created_at ELSE COALESCE(settled_at, created_at) END) < to_timestamp($6::float8 / 1000)",
    );
    expect(parameters.values).toEqual(['dead', '.a', 'k', 'expired', ['x'], 5]);
  });
});
