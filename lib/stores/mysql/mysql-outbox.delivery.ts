import type { ClaimRequest, FailedAttempt } from '../../kernel/outbox-delivery-store.interface.js';
import { ATTEMPT_HISTORY_LIMIT, type OutboxEntry } from '../../kernel/outbox-entry.interface.js';
import { blockedKeysCte, claimableSelect } from '../outbox-claim.rule.js';
import type { MysqlOutboxConnection } from './mysql-outbox.connection.js';
import {
  at,
  fromNow,
  ms,
  mysqlRowToEntry,
  NOW,
  OUTBOX_COLUMNS,
  tableLockName,
  type MysqlOutboxRow,
} from './mysql-outbox.sql.js';
import { MysqlPoolTimeoutError } from './mysql-pool-timeout.error.js';

/** How long a claim waits for another instance's claim to commit, in ms. */
const CLAIM_TURN_MS = 10_000;

/** The dispatcher's queries on a MySQL outbox (claim, settle, reschedule, next due), times in the database's clock. */
export class MysqlOutboxDelivery {
  constructor(private readonly connection: MysqlOutboxConnection) {}

  /**
   * See `OutboxDeliveryStore.claim()`. Due-ness is judged at `now` (translated into the
   * database's clock); lease expiry only by the database's clock (`UTC_TIMESTAMP(3)`), in SQL,
   * and new leases end `leaseMs` after it.
   * @throws MysqlPoolTimeoutError (as a rejection) when another instance's claim held the turn for 10 s.
   */
  async claim({ owner, limit, now, leaseMs }: ClaimRequest): Promise<OutboxEntry[]> {
    const { clock, table: t } = this.connection;
    await this.connection.whenReady();
    await clock.refresh();
    // Claims take turns (a named lock held until after the commit): the claim's statements, run
    // after it in a READ COMMITTED transaction, see every lease committed before, so two
    // dispatchers never split one topic. SKIP LOCKED passes over rows other statements hold
    // (settles, inserts not yet committed) instead of waiting for them.
    const rows = await this.connection.inTransaction(
      'a claim',
      async (connection) => {
        const [due] = (await connection.query(
          `WITH ${blockedKeysCte(t, NOW, at('?'), '?')} ${claimableSelect(t, at('?'), NOW, '?')} FOR UPDATE SKIP LOCKED`,
          [owner, clock.toDatabase(now), clock.toDatabase(now), Math.max(0, Math.floor(limit))],
        )) as unknown as [{ claimable_sequence: number | string }[]];
        if (due.length === 0) return [];
        const sequences = due.map((row) => row.claimable_sequence);
        await connection.query(
          `UPDATE ${t} SET lease_owner = ?, lease_expires_at = ${fromNow('?')} WHERE sequence IN (?)`,
          [owner, leaseMs, sequences],
        );
        const [claimed] = (await connection.query(
          `SELECT ${OUTBOX_COLUMNS} FROM ${t} WHERE sequence IN (?) ORDER BY sequence`,
          [sequences],
        )) as unknown as [MysqlOutboxRow[]];
        return claimed;
      },
      { name: tableLockName(t, 'claim'), timeoutMs: CLAIM_TURN_MS },
    );
    if (rows === undefined) throw new MysqlPoolTimeoutError('a claim', CLAIM_TURN_MS, "another instance's claim turn");
    return rows.map((row) => mysqlRowToEntry(row, clock));
  }

  /** See `OutboxDeliveryStore.markDelivered()`. */
  async markDelivered(owner: string, ids: readonly string[], now: number, retain: boolean): Promise<void> {
    if (ids.length === 0) return;
    const { clock, table: t } = this.connection;
    await this.connection.whenReady();
    if (retain) {
      await this.connection.query(
        'marking messages delivered',
        `UPDATE ${t} SET status = 'delivered', settled_at = ${at('?')}, lease_owner = NULL, lease_expires_at = NULL
         WHERE id IN (?) AND status = 'pending' AND lease_owner = ?`,
        [clock.toDatabase(now), ids, owner],
      );
    } else {
      await this.connection.query(
        'deleting delivered messages',
        `DELETE FROM ${t} WHERE id IN (?) AND status = 'pending' AND lease_owner = ?`,
        [ids, owner],
      );
    }
  }

  /** See `OutboxDeliveryStore.reschedule()`: one statement for the whole batch (`JSON_TABLE`). */
  async reschedule(owner: string, failures: readonly FailedAttempt[], now: number): Promise<void> {
    if (failures.length === 0) return;
    const { clock, table: t } = this.connection;
    await this.connection.whenReady();
    const rows = failures.map((failure) => ({
      id: failure.id,
      error: failure.error,
      counted: failure.counted ? 1 : 0,
      next: failure.nextAttemptAt === undefined ? null : clock.toDatabase(failure.nextAttemptAt),
      reason: failure.deadReason ?? 'exhausted',
      messenger: failure.messenger ?? '',
      holds: failure.holdsKey === true ? 1 : 0,
    }));
    const nowAt = clock.toDatabase(now);
    const history = `JSON_ARRAY_APPEND(CASE WHEN JSON_LENGTH(o.attempt_history) >= ${String(ATTEMPT_HISTORY_LIMIT)}
      THEN JSON_REMOVE(o.attempt_history, '$[0]') ELSE o.attempt_history END, '$',
      JSON_OBJECT('at', ?, 'error', f.error, 'messenger', f.messenger, 'counted', f.counted = 1))`;
    await this.connection.query(
      'rescheduling messages',
      `UPDATE ${t} AS o JOIN JSON_TABLE(?, '$[*]' COLUMNS (
         id VARCHAR(255) PATH '$.id', error LONGTEXT PATH '$.error', counted INT PATH '$.counted',
         next DOUBLE PATH '$.next', reason VARCHAR(16) PATH '$.reason', messenger VARCHAR(255) PATH '$.messenger',
         holds INT PATH '$.holds')) AS f
         ON o.id = f.id
       SET o.lease_owner = NULL, o.lease_expires_at = NULL, o.last_error = f.error,
         o.attempts = o.attempts + f.counted, o.attempt_history = ${history},
         o.dead_reason = CASE WHEN f.next IS NULL THEN f.reason ELSE NULL END,
         o.status = CASE WHEN f.next IS NULL THEN 'dead' ELSE 'pending' END,
         o.settled_at = CASE WHEN f.next IS NULL THEN ${at('?')} ELSE NULL END,
         o.next_attempt_at = CASE WHEN f.next IS NULL THEN o.next_attempt_at ELSE ${at('f.next')} END,
         o.holds_key = f.next IS NOT NULL AND f.holds = 1 AND o.ordering_key IS NOT NULL
       WHERE o.status = 'pending' AND o.lease_owner = ?`,
      [JSON.stringify(rows), nowAt, nowAt, owner],
    );
  }

  /** See `OutboxDeliveryStore.nextDueAt()`. */
  async nextDueAt(): Promise<number | undefined> {
    const { clock, table: t } = this.connection;
    await this.connection.whenReady();
    // Messages queued behind a leased one of their topic cannot go before that lease ends: they do
    // not count (see the PostgreSQL store). A message never tried and not leased is due at once (0).
    const rows = await this.connection.query<{ due: number | string | null }[]>(
      'finding the next due message',
      `WITH ${blockedKeysCte(t, NOW, "'1000-01-01'")}
       SELECT MIN(GREATEST(COALESCE(${ms('m.next_attempt_at')}, 0), COALESCE(${ms('m.lease_expires_at')}, 0))) AS due
       FROM ${t} m LEFT JOIN blocked b ON b.ordering_key = m.ordering_key
       WHERE m.status = 'pending' AND (b.first_blocked IS NULL OR m.sequence <= b.first_blocked)`,
    );
    const found = rows.at(0)?.due ?? null;
    if (found === null) return undefined;
    const due = Number(found);
    return due === 0 ? 0 : clock.toLocal(due);
  }
}
