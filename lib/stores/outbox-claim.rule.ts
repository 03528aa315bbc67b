/*
 * The per-topic order rule of `OutboxDeliveryStore.claim()`, once, in the two forms the
 * stores need (in memory, and as SQL both SQL stores run):
 *
 * - a pending message is claimable when it is due (`nextAttemptAt <= now`) and not leased
 *   (no lease, or one that ran out at or before `now`);
 * - a topic is blocked from its first pending message leased to another owner onwards:
 *   nothing of that topic at or after it is claimable, so one owner at a time sends a topic;
 * - the claimer's own leased messages (its batches in flight) and messages waiting for a
 *   retry are skipped, not blocking: a failed message steps out of line.
 */

/** What the rule looks at in a pending message (times in ms since the epoch). */
export interface ClaimCandidate {
  readonly nextAttemptAt: number;
  readonly leaseOwner: string | undefined;
  readonly leaseExpiresAt: number | undefined;
}

/**
 * The messages of one topic that `owner` may claim at `now`, oldest first, at most `limit`:
 * the in-memory form of the rule.
 * @param pending - the topic's pending messages, oldest first.
 */
export function claimableOfTopic<T extends ClaimCandidate>(
  pending: Iterable<T>,
  owner: string,
  now: number,
  limit: number,
): T[] {
  const claimable: T[] = [];
  for (const message of pending) {
    if (claimable.length >= limit) break;
    if (message.leaseExpiresAt !== undefined && message.leaseExpiresAt > now) {
      if (message.leaseOwner === owner) continue;
      break;
    }
    if (message.nextAttemptAt > now) continue;
    claimable.push(message);
  }
  return claimable;
}

/**
 * The common table expression `blocked`: per topic, the sequence (`first_blocked`) of its
 * first pending message leased past `now` to an owner other than `exceptOwner` (to anyone
 * when it is omitted). Arguments are SQL expressions (placeholders or literals).
 */
export function blockedTopicsCte(table: string, now: string, exceptOwner?: string): string {
  const otherOwner = exceptOwner === undefined ? '' : ` AND lease_owner <> ${exceptOwner}`;
  return `blocked AS (
    SELECT topic, MIN(sequence) AS first_blocked FROM ${table}
    WHERE status = 'pending' AND lease_owner IS NOT NULL${otherOwner} AND lease_expires_at > ${now}
    GROUP BY topic)`;
}

/**
 * A SELECT of the sequences (`claimable_sequence`) claimable by the owner given to
 * `blockedTopicsCte()`, which must precede it in the same `WITH`; oldest first, at most
 * `limit`. Arguments are SQL expressions: `dueNow` is compared with retry times,
 * `leaseNow` with lease expiry (the SQL stores pass their database's clock there, the same
 * as to `blockedTopicsCte()`, so a caller's wrong clock never makes a live lease look
 * expired). A NULL `next_attempt_at` means due at once.
 */
export function claimableSelect(table: string, dueNow: string, leaseNow: string, limit: string): string {
  return `SELECT m.sequence AS claimable_sequence FROM ${table} m LEFT JOIN blocked b ON b.topic = m.topic
    WHERE m.status = 'pending'
      AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= ${dueNow})
      AND (m.lease_expires_at IS NULL OR m.lease_expires_at <= ${leaseNow})
      AND (b.first_blocked IS NULL OR m.sequence < b.first_blocked)
    ORDER BY m.sequence LIMIT ${limit}`;
}
