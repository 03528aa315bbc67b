import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { blockedKeysCte, claimableOfKey, claimableSelect } from './outbox-claim.rule.js';
import { sqliteOutboxSchema } from './sqlite/sqlite-outbox.schema.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

interface Pending {
  readonly sequence: number;
  /** The ordering key; `null`: none. */
  readonly key: string | null;
  readonly nextAttemptAt: number;
  readonly leaseOwner: string | undefined;
  readonly leaseExpiresAt: number | undefined;
  readonly holdsKey: boolean;
}

const NOW = 1000;
const due = (sequence: number, key: string | null): Pending => ({
  sequence,
  key,
  nextAttemptAt: NOW,
  leaseOwner: undefined,
  leaseExpiresAt: undefined,
  holdsKey: false,
});
const leased = (sequence: number, key: string | null, owner: string, expiresAt = NOW + 1): Pending => ({
  ...due(sequence, key),
  leaseOwner: owner,
  leaseExpiresAt: expiresAt,
});
const retrying = (sequence: number, key: string | null): Pending => ({ ...due(sequence, key), nextAttemptAt: NOW + 1 });
/** Delayed, or failed under onFailure: 'hold', until `at`. */
const holding = (sequence: number, key: string | null, at = NOW + 1): Pending => ({
  ...due(sequence, key),
  nextAttemptAt: at,
  holdsKey: key !== null,
});

/** The in-memory form, as MemoryOutboxStore applies it: per key (a message without one alone), then the oldest across keys. */
function claimInMemory(pending: readonly Pending[], owner: string, limit: number): number[] {
  const keys = new Map<string | Pending, Pending[]>();
  for (const message of pending) {
    const lane = message.key ?? message;
    keys.set(lane, [...(keys.get(lane) ?? []), message]);
  }
  return [...keys.values()]
    .flatMap((queue) => claimableOfKey(queue, owner, NOW, limit))
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
      `INSERT INTO outbox (sequence, id, topic, ordering_key, body, headers, timestamp, created_at, next_attempt_at, lease_owner, lease_expires_at, holds_key)
       VALUES (?, ?, 't', ?, '{}', '{}', 0, 0, ?, ?, ?, ?)`,
    );
    for (const m of pending) {
      insert.run(
        m.sequence,
        `id-${m.sequence}`,
        m.key,
        m.nextAttemptAt,
        m.leaseOwner ?? null,
        m.leaseExpiresAt ?? null,
        m.holdsKey ? 1 : 0,
      );
    }
    const query = `WITH ${blockedKeysCte('outbox', '@now', '@now', '@owner')} ${claimableSelect('outbox', '@now', '@now', '@limit')}`;
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
  {
    name: 'a message holding its key (delayed, or failed under hold) blocks it until due, not other keys',
    pending: [due(1, 'a'), holding(2, 'a'), due(3, 'a'), due(4, 'b')],
    claimable: [1, 4],
  },
  {
    name: 'a holding message that is due blocks nothing: it goes first',
    pending: [holding(1, 'a', NOW), due(2, 'a')],
    claimable: [1, 2],
  },
  {
    name: 'messages without a key are never blocked and block nothing',
    pending: [leased(1, null, 'other'), holding(2, null), due(3, null), retrying(4, null), due(5, null)],
    claimable: [3, 5],
  },
  {
    name: "another owner's lease on one key leaves messages without a key alone",
    pending: [leased(1, 'a', 'other'), due(2, null), due(3, 'a'), due(4, null)],
    claimable: [2, 4],
  },
];

describe('the claim rule', () => {
  it.each(CASES)('in memory and in SQL alike: $name', ({ pending, limit = 10, claimable }) => {
    expect(claimInMemory(pending, 'me', limit)).toEqual(claimable);
    expect(claimInSql(pending, 'me', limit)).toEqual(claimable);
  });

  it('blocks for anyone when no owner is excepted (the next-due form)', () => {
    expect(blockedKeysCte('outbox', 'now()', 'now()')).not.toContain('<>');
    expect(blockedKeysCte('outbox', 'now()', 'now()', "'me'")).toContain("lease_owner <> 'me'");
  });
});
