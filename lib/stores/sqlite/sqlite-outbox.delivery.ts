import type { Database, Statement } from 'better-sqlite3';
import type { ClaimRequest, FailedAttempt, TakenOverLeases } from '../../kernel/outbox-delivery-store.interface.js';
import { ATTEMPT_HISTORY_LIMIT, type OutboxEntry } from '../../kernel/outbox-entry.interface.js';
import { blockedKeysCte, claimableSelect } from '../outbox-claim.rule.js';
import { outboxRowToEntry } from '../outbox-entry.mapper.js';
import type { SqliteOutboxRow } from './sqlite-outbox.database.js';

/**
 * SQLite's own clock in ms since the epoch. Leases are compared and written with it, not with
 * the caller's `now`: a process whose clock is wrong (or faked) cannot make another process's
 * live lease look expired.
 */
const SQLITE_NOW_MS = `CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)`;

/**
 * The dispatcher's queries on a SQLite outbox (claim, settle, reschedule,
 * next due), prepared once. Synchronous: better-sqlite3 runs them on the
 * event loop; the store wraps the results in promises.
 */
export class SqliteOutboxDelivery {
  private readonly claimUpdate: Statement;
  private readonly deliveredDelete: Statement;
  private readonly deliveredUpdate: Statement;
  // Prepared once: a transaction function per call would cost its wrapper every batch.
  private readonly claimTransaction: (request: ClaimRequest) => SqliteOutboxRow[];
  private readonly failureUpdate: Statement;
  private readonly nextDueQuery: Statement;
  private readonly leasesOfQuery: Statement;
  private readonly giveBackUpdate: Statement;
  private readonly holdsLeasesQuery: Statement;

  constructor(
    private readonly db: Database,
    table: string,
  ) {
    const t = table;
    // Per-key order: the shared claim rule (outbox-claim.rule.ts); the whole batch leased in one
    // statement (RETURNING gives no order: sorted by sequence after).
    this.claimUpdate = db.prepare(
      `WITH ${blockedKeysCte(t, SQLITE_NOW_MS, '@now', '@owner')}
       UPDATE ${t} SET lease_owner = @owner, lease_expires_at = ${SQLITE_NOW_MS} + @leaseMs
       WHERE sequence IN (${claimableSelect(t, '@now', SQLITE_NOW_MS, '@limit')}) RETURNING *`,
    );
    const claimTransaction = db.transaction(
      ({ owner, limit, now, leaseMs }: ClaimRequest) =>
        this.claimUpdate.all({ now, limit, owner, leaseMs }) as SqliteOutboxRow[],
    );
    this.claimTransaction = (request) => claimTransaction.immediate(request);
    // One statement per batch: the ids travel as a JSON array.
    const ofBatch = `id IN (SELECT value FROM json_each(?)) AND status = 'pending' AND lease_owner = ?`;
    this.deliveredDelete = db.prepare(`DELETE FROM ${t} WHERE ${ofBatch}`);
    this.deliveredUpdate = db.prepare(
      `UPDATE ${t} SET status = 'delivered', settled_at = ?, lease_owner = NULL, lease_expires_at = NULL
       WHERE ${ofBatch}`,
    );
    this.failureUpdate = db.prepare(`
      UPDATE ${t} SET lease_owner = NULL, lease_expires_at = NULL, last_error = @error,
        attempts = attempts + @counted,
        attempt_history = json_insert(
          CASE WHEN json_array_length(attempt_history) >= ${String(ATTEMPT_HISTORY_LIMIT)}
            THEN json_remove(attempt_history, '$[0]') ELSE attempt_history END,
          '$[#]', json_object('at', @now, 'error', @error, 'messenger', @messenger, 'counted', @counted)),
        dead_reason = CASE WHEN @next IS NULL THEN @reason ELSE NULL END,
        status = CASE WHEN @next IS NULL THEN 'dead' ELSE 'pending' END,
        settled_at = CASE WHEN @next IS NULL THEN @now ELSE NULL END,
        next_attempt_at = COALESCE(@next, next_attempt_at),
        holds_key = CASE WHEN @next IS NOT NULL AND ordering_key IS NOT NULL THEN @holds ELSE 0 END
      WHERE id = @id AND status = 'pending' AND lease_owner = @owner`);
    // Messages queued behind a leased or holding one of their key cannot go before it: they do
    // not count (else a key held by a delayed message would make the dispatcher poll at once).
    this.nextDueQuery = db.prepare(
      `WITH ${blockedKeysCte(t, SQLITE_NOW_MS, '-1')}
       SELECT MIN(MAX(m.next_attempt_at, COALESCE(m.lease_expires_at, 0))) AS due
       FROM ${t} m LEFT JOIN blocked b ON b.ordering_key = m.ordering_key
       WHERE m.status = 'pending' AND (b.first_blocked IS NULL OR m.sequence <= b.first_blocked)`,
    );
    const unexpiredOf = `status = 'pending' AND lease_owner IN (SELECT value FROM json_each(?)) AND lease_expires_at > ${SQLITE_NOW_MS}`;
    this.leasesOfQuery = db.prepare(
      `SELECT lease_owner AS owner, COUNT(*) AS count FROM ${t} WHERE ${unexpiredOf} GROUP BY lease_owner ORDER BY lease_owner`,
    );
    this.giveBackUpdate = db.prepare(
      `UPDATE ${t} SET lease_owner = NULL, lease_expires_at = NULL,
         last_error = 'claimed by ' || lease_owner || ', whose process has ended (its lock file was free)'
       WHERE ${unexpiredOf}`,
    );
    this.holdsLeasesQuery = db.prepare(
      `SELECT 1 FROM ${t} WHERE status = 'pending' AND lease_owner = ? AND lease_expires_at > ${SQLITE_NOW_MS} LIMIT 1`,
    );
  }

  /**
   * See `OutboxDeliveryStore.claim()`: one immediate transaction, so no other process claims
   * meanwhile. Due-ness is judged at `now`; lease expiry by SQLite's clock (`SQLITE_NOW_MS`).
   */
  claim(request: ClaimRequest): OutboxEntry[] {
    const claimed = this.claimTransaction(request);
    claimed.sort((a, b) => a.sequence - b.sequence);
    return claimed.map((row) => outboxRowToEntry(row));
  }

  /** See `OutboxDeliveryStore.markDelivered()`: one statement (itself a transaction). */
  markDelivered(owner: string, ids: readonly string[], now: number, retain: boolean): void {
    const list = JSON.stringify(ids);
    if (retain) this.deliveredUpdate.run(now, list, owner);
    else this.deliveredDelete.run(list, owner);
  }

  /** See `OutboxDeliveryStore.reschedule()`. */
  reschedule(owner: string, failures: readonly FailedAttempt[], now: number): void {
    this.db.transaction(() => {
      for (const failure of failures) {
        this.failureUpdate.run({
          id: failure.id,
          owner,
          now,
          error: failure.error,
          counted: failure.counted ? 1 : 0,
          next: failure.nextAttemptAt ?? null,
          reason: failure.deadReason ?? 'exhausted',
          messenger: failure.messenger ?? '',
          holds: failure.holdsKey === true ? 1 : 0,
        });
      }
    })();
  }

  /**
   * Ends the unexpired leases (by SQLite's clock) of `owners`, proven gone, in one immediate
   * transaction: unleased, due as before, attempts unchanged, `lastError` saying why.
   */
  giveBack(owners: readonly string[]): TakenOverLeases[] {
    const list = JSON.stringify(owners);
    return this.db
      .transaction(() => {
        const taken = this.leasesOfQuery.all(list) as TakenOverLeases[];
        this.giveBackUpdate.run(list);
        return taken;
      })
      .immediate();
  }

  /** Whether `owner` holds an unexpired lease (by SQLite's clock). */
  holdsLeases(owner: string): boolean {
    return this.holdsLeasesQuery.get(owner) !== undefined;
  }

  /** See `OutboxDeliveryStore.nextDueAt()`. */
  nextDueAt(): number | undefined {
    const { due } = this.nextDueQuery.get() as { due: number | null };
    return due ?? undefined;
  }
}
