import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { blockedTopicsCte, claimableOfTopic, claimableSelect } from './outbox-claim.rule.js';
import { sqliteOutboxSchema } from './sqlite/sqlite-outbox.schema.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

interface Pending {
  readonly sequence: number;
  readonly topic: string;
  readonly nextAttemptAt: number;
  readonly leaseOwner: string | undefined;
  readonly leaseExpiresAt: number | undefined;
}

const NOW = 1000;
const due = (sequence: number, topic: string): Pending => ({
  sequence,
  topic,
  nextAttemptAt: NOW,
  leaseOwner: undefined,
  leaseExpiresAt: undefined,
});
const leased = (sequence: number, topic: string, owner: string, expiresAt = NOW + 1): Pending => ({
  ...due(sequence, topic),
  leaseOwner: owner,
  leaseExpiresAt: expiresAt,
});
const retrying = (sequence: number, topic: string): Pending => ({ ...due(sequence, topic), nextAttemptAt: NOW + 1 });

/** The in-memory form, as MemoryOutboxStore applies it: per topic, then the oldest across topics. */
function claimInMemory(pending: readonly Pending[], owner: string, limit: number): number[] {
  const topics = new Map<string, Pending[]>();
  for (const message of pending) topics.set(message.topic, [...(topics.get(message.topic) ?? []), message]);
  return [...topics.values()]
    .flatMap((queue) => claimableOfTopic(queue, owner, NOW, limit))
    .map(({ sequence }) => sequence)
    .sort((a, b) => a - b)
    .slice(0, limit);
}

/** The SQL form, as the SQL stores run it (here on SQLite). */
function claimInSql(pending: readonly Pending[], owner: string, limit: number): number[] {
  const db = new Database(':memory:');
  try {
    db.exec(sqliteOutboxSchema('outbox'));
    const insert = db.prepare(
      `INSERT INTO outbox (sequence, id, topic, body, headers, timestamp, created_at, next_attempt_at, lease_owner, lease_expires_at)
       VALUES (?, ?, ?, '{}', '{}', 0, 0, ?, ?, ?)`,
    );
    for (const m of pending) {
      insert.run(
        m.sequence,
        `id-${m.sequence}`,
        m.topic,
        m.nextAttemptAt,
        m.leaseOwner ?? null,
        m.leaseExpiresAt ?? null,
      );
    }
    const query = `WITH ${blockedTopicsCte('outbox', '@now', '@owner')} ${claimableSelect('outbox', '@now', '@now', '@limit')}`;
    const rows = db.prepare(query).all({ now: NOW, owner, limit }) as { claimable_sequence: number }[];
    return rows.map(({ claimable_sequence }) => claimable_sequence);
  } finally {
    db.close();
  }
}

const CASES: readonly { name: string; pending: Pending[]; limit?: number; claimable: number[] }[] = [
  {
    name: 'due, unleased messages go oldest first across topics',
    pending: [due(1, 'a'), due(2, 'b'), due(3, 'a')],
    claimable: [1, 2, 3],
  },
  {
    name: 'at most the limit, the oldest',
    pending: [due(1, 'a'), due(2, 'b'), due(3, 'a')],
    limit: 2,
    claimable: [1, 2],
  },
  {
    name: "another owner's lease blocks its topic from that message on, not before it",
    pending: [due(1, 'a'), leased(2, 'a', 'other'), due(3, 'a'), due(4, 'b')],
    claimable: [1, 4],
  },
  {
    name: "the claimer's own lease is skipped, not blocking",
    pending: [leased(1, 'a', 'me'), due(2, 'a')],
    claimable: [2],
  },
  { name: 'a message waiting for a retry steps out of line', pending: [retrying(1, 'a'), due(2, 'a')], claimable: [2] },
  {
    name: 'a lease that ran out at now blocks nothing',
    pending: [leased(1, 'a', 'other', NOW), due(2, 'a')],
    claimable: [1, 2],
  },
  {
    name: 'the first lease of another owner decides, whatever follows',
    pending: [leased(1, 'a', 'me'), retrying(2, 'a'), leased(3, 'a', 'other'), due(4, 'a'), leased(5, 'a', 'me')],
    claimable: [],
  },
];

describe('the claim rule', () => {
  it.each(CASES)('in memory and in SQL alike: $name', ({ pending, limit = 10, claimable }) => {
    expect(claimInMemory(pending, 'me', limit)).toEqual(claimable);
    expect(claimInSql(pending, 'me', limit)).toEqual(claimable);
  });

  it('blocks for anyone when no owner is excepted (the next-due form)', () => {
    expect(blockedTopicsCte('outbox', 'now()')).not.toContain('<>');
    expect(blockedTopicsCte('outbox', 'now()', "'me'")).toContain("lease_owner <> 'me'");
  });
});
