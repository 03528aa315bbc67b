/*
 * The per-key order rule of `OutboxDeliveryStore.claim()`, once, in the two forms the stores
 * need (in memory, and as SQL both SQL stores run). The unit of order is the ordering key
 * (`Message.key`, column `ordering_key`; by default the topic):
 *
 * - a pending message is claimable when it is due (`nextAttemptAt <= now`) and not leased
 *   (no lease, or one that ran out at or before `now`);
 * - a key is blocked from its first pending message that is leased to another owner, or that
 *   holds its key (`holdsKey`: delayed, or failed under `onFailure: 'hold'`) and is not due
 *   yet, onwards: nothing of that key at or after it is claimable, so one owner at a time sends
 *   a key, and a held or delayed message is not overtaken;
 * - the claimer's own leased messages (its batches in flight) and messages waiting for a
 *   retry without holding their key are skipped, not blocking: a failed message steps out of line;
 * - a message without a key (`null`) is never blocked and blocks nothing.
 */

/** What the rule looks at in a pending message (times in ms since the epoch). */
export interface ClaimCandidate {
  readonly nextAttemptAt: number;
  readonly leaseOwner: string | undefined;
  readonly leaseExpiresAt: number | undefined;
  /** Whether the message holds its key until it is due (see above). */
  readonly holdsKey: boolean;
}

/**
 * The messages of one ordering key that `owner` may claim at `now`, oldest first, at most
 * `limit`: the in-memory form of the rule. For messages without a key, see `isClaimableAlone()`.
 * @param pending - the key's pending messages, oldest first, from index `from` (default 0) on; holes
 *   (`undefined`, a removed message) are skipped.
 */
export function claimableOfKey<T extends ClaimCandidate>(
  pending: readonly (T | undefined)[],
  owner: string,
  now: number,
  limit: number,
  from = 0,
): T[] {
  const claimable: T[] = [];
  for (let index = from; index < pending.length; index++) {
    const message = pending[index];
    if (message === undefined) continue;
    if (claimable.length >= limit) break;
    if (message.leaseExpiresAt !== undefined && message.leaseExpiresAt > now) {
      if (message.leaseOwner === owner) continue;
      break;
    }
    if (message.nextAttemptAt > now) {
      if (message.holdsKey) break;
      continue;
    }
    claimable.push(message);
  }
  return claimable;
}

/** Whether a message without a key (never blocked) is claimable at `now`: due and not leased. */
export function isClaimableAlone(message: ClaimCandidate, now: number): boolean {
  return (message.leaseExpiresAt === undefined || message.leaseExpiresAt <= now) && message.nextAttemptAt <= now;
}

/**
 * The common table expression `blocked`: per ordering key, the sequence (`first_blocked`) of its
 * first pending message leased past `leaseNow` to an owner other than `exceptOwner` (to anyone
 * when it is omitted), or holding its key and due after `dueNow`. Arguments are SQL expressions
 * (placeholders or literals). Rows without a key are left out (they never block).
 */
export function blockedKeysCte(table: string, leaseNow: string, dueNow: string, exceptOwner?: string): string {
  const otherOwner = exceptOwner === undefined ? '' : ` AND lease_owner <> ${exceptOwner}`;
  return `blocked AS (
    SELECT ordering_key, MIN(sequence) AS first_blocked FROM ${table}
    WHERE status = 'pending' AND ordering_key IS NOT NULL AND (
      (lease_owner IS NOT NULL${otherOwner} AND lease_expires_at > ${leaseNow})
      OR (holds_key AND next_attempt_at > ${dueNow}))
    GROUP BY ordering_key)`;
}

/**
 * A SELECT of the sequences (`claimable_sequence`) claimable by the owner given to
 * `blockedKeysCte()`, which must precede it in the same `WITH`; oldest first, at most
 * `limit`. Arguments are SQL expressions: `dueNow` is compared with retry times,
 * `leaseNow` with lease expiry (the SQL stores pass their database's clock there, the same
 * as to `blockedKeysCte()`, so a caller's wrong clock never makes a live lease look
 * expired). A NULL `next_attempt_at` means due at once; a NULL key is never blocked.
 */
export function claimableSelect(table: string, dueNow: string, leaseNow: string, limit: string): string {
  return `SELECT m.sequence AS claimable_sequence FROM ${table} m LEFT JOIN blocked b ON b.ordering_key = m.ordering_key
    WHERE m.status = 'pending'
      AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= ${dueNow})
      AND (m.lease_expires_at IS NULL OR m.lease_expires_at <= ${leaseNow})
      AND (b.first_blocked IS NULL OR m.sequence < b.first_blocked)
    ORDER BY m.sequence LIMIT ${limit}`;
}
