import type { ClaimRequest, FailedAttempt } from '../../kernel/outbox-delivery-store.interface.js';
import { ATTEMPT_HISTORY_LIMIT, type OutboxEntry } from '../../kernel/outbox-entry.interface.js';
import { blockedKeysCte, claimableSelect } from '../outbox-claim.rule.js';
import type { PostgresOutboxConnection } from './postgres-outbox.connection.js';
import {
  at,
  CLAIM_LOCK,
  ms,
  OUTBOX_COLUMNS,
  postgresRowToEntry,
  type PostgresOutboxRow,
} from './postgres-outbox.sql.js';

/** The dispatcher's queries on a PostgreSQL outbox (claim, settle, reschedule, next due), times in the database's clock. */
export class PostgresOutboxDelivery {
  constructor(private readonly connection: PostgresOutboxConnection) {}

  /**
   * See `OutboxDeliveryStore.claim()`. Due-ness is judged at `now` (translated into the
   * database's clock); lease expiry only by the database's clock (`statement_timestamp()`), in
   * SQL, and new leases end `leaseMs` after it: a process whose clock jumps, or a VM that was
   * paused, cannot make another owner's live lease look expired.
   */
  async claim({ owner, limit, now, leaseMs }: ClaimRequest): Promise<OutboxEntry[]> {
    const { clock, table: t } = this.connection;
    await this.connection.whenReady();
    await clock.refresh();
    // The lock (taken with BEGIN, in one round trip) makes claims take turns; the claim
    // statement, taken after it, sees every lease committed before it, so two dispatchers never
    // split one key between them. (The table name is a checked identifier.) Rows of a key being
    // inserted by a transaction still open are not seen, and cannot be overtaken: a later row of
    // the key is inserted only after that transaction ended (appendStatement's key locks).
    const lock = `SELECT pg_advisory_xact_lock(hashtext('${t}'), ${String(CLAIM_LOCK)})`;
    const rows = await this.connection.inTransaction(
      'a claim',
      async (client) => {
        // Per-key order: the shared claim rule (outbox-claim.rule.ts).
        const result = await client.query<PostgresOutboxRow>(
          `WITH ${blockedKeysCte(t, 'statement_timestamp()', at('$2'), '$1')},
         due AS (${claimableSelect(t, at('$2'), 'statement_timestamp()', '$3')} FOR UPDATE OF m SKIP LOCKED)
         UPDATE ${t} SET lease_owner = $1, lease_expires_at = statement_timestamp() + $4::float8 * interval '1 millisecond'
         FROM due WHERE sequence = due.claimable_sequence
         RETURNING ${OUTBOX_COLUMNS}`,
          [owner, clock.toDatabase(now), Math.max(0, Math.floor(limit)), leaseMs],
        );
        return result.rows;
      },
      lock,
    );
    return rows
      .sort((a, b) => Number(BigInt(a.sequence) - BigInt(b.sequence)))
      .map((row) => postgresRowToEntry(row, clock));
  }

  /** See `OutboxDeliveryStore.markDelivered()`. */
  async markDelivered(owner: string, ids: readonly string[], now: number, retain: boolean): Promise<void> {
    const { clock, table: t } = this.connection;
    await this.connection.whenReady();
    if (retain) {
      await this.connection.query(
        'marking messages delivered',
        `UPDATE ${t} SET status = 'delivered', settled_at = ${at('$3')}, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = ANY($1::text[]) AND status = 'pending' AND lease_owner = $2`,
        [ids, owner, clock.toDatabase(now)],
      );
    } else {
      await this.connection.query(
        'deleting delivered messages',
        `DELETE FROM ${t} WHERE id = ANY($1::text[]) AND status = 'pending' AND lease_owner = $2`,
        [ids, owner],
      );
    }
  }

  /** See `OutboxDeliveryStore.reschedule()`: one statement for the whole batch. */
  async reschedule(owner: string, failures: readonly FailedAttempt[], now: number): Promise<void> {
    const { clock, table: t } = this.connection;
    await this.connection.whenReady();
    const rows = failures.map((failure) => ({
      id: failure.id,
      error: failure.error,
      counted: failure.counted ? 1 : 0,
      next: failure.nextAttemptAt === undefined ? null : clock.toDatabase(failure.nextAttemptAt),
      reason: failure.deadReason ?? 'exhausted',
      messenger: failure.messenger ?? '',
      holds: failure.holdsKey === true,
    }));
    const history = `CASE WHEN jsonb_array_length(o.attempt_history) >= ${String(ATTEMPT_HISTORY_LIMIT)}
      THEN o.attempt_history - 0 ELSE o.attempt_history END || jsonb_build_array(jsonb_build_object(
      'at', $3::float8, 'error', f.error, 'messenger', f.messenger, 'counted', f.counted = 1))`;
    await this.connection.query(
      'rescheduling messages',
      `UPDATE ${t} AS o SET lease_owner = NULL, lease_expires_at = NULL, last_error = f.error,
         attempts = o.attempts + f.counted, attempt_history = ${history},
         dead_reason = CASE WHEN f.next IS NULL THEN f.reason ELSE NULL END,
         status = CASE WHEN f.next IS NULL THEN 'dead' ELSE 'pending' END,
         settled_at = CASE WHEN f.next IS NULL THEN ${at('$3')} ELSE NULL END,
         next_attempt_at = CASE WHEN f.next IS NULL THEN o.next_attempt_at ELSE ${at('f.next')} END,
         holds_key = f.next IS NOT NULL AND f.holds AND o.ordering_key IS NOT NULL
       FROM json_to_recordset($1::json)
         AS f(id text, error text, counted int, next float8, reason text, messenger text, holds boolean)
       WHERE o.id = f.id AND o.status = 'pending' AND o.lease_owner = $2`,
      [JSON.stringify(rows), owner, clock.toDatabase(now)],
    );
  }

  /** See `OutboxDeliveryStore.nextDueAt()`. */
  async nextDueAt(): Promise<number | undefined> {
    const { clock, table: t } = this.connection;
    await this.connection.whenReady();
    // Messages queued behind a leased or holding one of their key cannot go before that lease
    // ends (or its holder finishes, which polling notices) or that message is due: they do not
    // count, or an instance that another one's leases hold up would ask again every few
    // milliseconds. Blocked as in the claim rule, by anyone's lease (this query does not know
    // the caller), and by any holding message, due or not.
    const { rows } = await this.connection.query<{ due: number | null }>(
      'finding the next due message',
      `WITH ${blockedKeysCte(t, 'clock_timestamp()', "'-infinity'::timestamptz")}
       SELECT ${ms(`min(greatest(coalesce(m.next_attempt_at, '-infinity'), coalesce(m.lease_expires_at, '-infinity')))`)} AS due
       FROM ${t} m LEFT JOIN blocked b ON b.ordering_key = m.ordering_key
       WHERE m.status = 'pending' AND (b.first_blocked IS NULL OR m.sequence <= b.first_blocked)`,
    );
    const due = rows[0]?.due ?? null;
    if (due === null) return undefined;
    // -Infinity: a message never tried and not leased, due at once.
    return Number.isFinite(due) ? clock.toLocal(due) : 0;
  }
}
