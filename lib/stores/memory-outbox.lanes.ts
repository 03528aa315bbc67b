import { claimableOfKey, isClaimableAlone } from './outbox-claim.rule.js';
import { CompactRecord, type HeldRecord } from './compact-outbox-record.js';

function keyOf(record: HeldRecord): string | null {
  return record instanceof CompactRecord ? record.key : record.message.key;
}

const bySequence = (a: HeldRecord, b: HeldRecord): number => a.sequence - b.sequence;

/** Removed messages a lane leaves as holes before it drops them from its array (an O(length) copy). */
const COMPACT_AFTER = 1024;

/**
 * One lane's messages, oldest first, from `head` on; a removed one leaves a hole (`undefined`)
 * until the array is compacted. Removing it from the array would move the rest of the lane for
 * each message: a backlog of 100,000 on one lane took seconds to drain, and still did behind a
 * message waiting for its retry at the head.
 */
class Lane {
  records: (HeldRecord | undefined)[] = [];
  /** Where the first message is (the holes before it are skipped). */
  head = 0;
  private holes = 0;

  get length(): number {
    return this.records.length - this.holes;
  }

  indexOf(record: HeldRecord): number {
    return this.records[this.head] === record ? this.head : this.records.indexOf(record, this.head);
  }

  remove(record: HeldRecord): void {
    const index = this.indexOf(record);
    if (index < 0) return;
    this.records[index] = undefined;
    this.holes++;
    while (this.head < this.records.length && this.records[this.head] === undefined) this.head++;
    // The holes cost a skip per claim: at most COMPACT_AFTER, or half the lane.
    if (this.holes >= COMPACT_AFTER || this.holes * 2 >= this.records.length) this.compact();
  }

  compact(): void {
    if (this.holes === 0) return;
    this.records = this.records.filter((record) => record !== undefined);
    this.head = 0;
    this.holes = 0;
  }
}

/**
 * The pending messages of `MemoryOutboxStore` in claim order: one queue per ordering key, oldest
 * first, so that a claim walks only what each key may hand out; and one queue of all messages
 * without a key, each of them claimable on its own (a Map entry and an array per such message
 * would cost more than the message's own fields).
 */
export class PendingLanes {
  private readonly byKey = new Map<string, Lane>();
  private readonly unkeyed = new Lane();

  /** Adds the newest pending message. */
  push(record: HeldRecord): void {
    this.laneOf(record).records.push(record);
  }

  /** Puts a message pending again (a retried dead one) back in its place among its lane's. */
  insert(record: HeldRecord): void {
    const lane = this.laneOf(record);
    lane.compact();
    lane.records.push(record);
    (lane.records as HeldRecord[]).sort(bySequence);
  }

  remove(record: HeldRecord): void {
    const key = keyOf(record);
    const lane = key === null ? this.unkeyed : this.byKey.get(key);
    if (lane === undefined) return;
    // Delivered messages are almost always at the head of their lane.
    lane.remove(record);
    if (key !== null && lane.length === 0) this.byKey.delete(key);
  }

  /** Puts `replacement` (the same message, expanded) where `record` is. */
  replace(record: HeldRecord, replacement: HeldRecord): void {
    const key = keyOf(record);
    const lane = key === null ? this.unkeyed : this.byKey.get(key);
    const index = lane?.indexOf(record) ?? -1;
    if (lane !== undefined && index >= 0) lane.records[index] = replacement;
  }

  /** What `owner` may claim at `now` (the shared claim rule), at most `limit` per lane, in no order across lanes. */
  claimable(owner: string, now: number, limit: number): HeldRecord[] {
    const claimable: HeldRecord[] = [];
    for (const lane of this.byKey.values()) {
      for (const record of claimableOfKey(lane.records, owner, now, limit, lane.head)) claimable.push(record);
    }
    const { records, head } = this.unkeyed;
    let unkeyed = 0;
    for (let index = head; index < records.length && unkeyed < limit; index++) {
      const record = records[index];
      if (record === undefined || !isClaimableAlone(record, now)) continue;
      claimable.push(record);
      unkeyed++;
    }
    return claimable;
  }

  /** The earliest time a pending message may become claimable, or `undefined` when none is pending. */
  nextDueAt(): number | undefined {
    let earliest: number | undefined;
    const consider = (record: HeldRecord): void => {
      // A leased message becomes claimable again when its lease runs out.
      const due = Math.max(record.nextAttemptAt, record.leaseExpiresAt ?? 0);
      if (earliest === undefined || due < earliest) earliest = due;
    };
    for (const { records, head } of this.byKey.values()) {
      for (let index = head; index < records.length; index++) {
        const record = records[index];
        if (record === undefined) continue;
        consider(record);
        // The key's later messages wait for a holding one.
        if (record.holdsKey) break;
      }
    }
    const { records, head } = this.unkeyed;
    for (let index = head; index < records.length; index++) {
      const record = records[index];
      if (record !== undefined) consider(record);
    }
    return earliest;
  }

  private laneOf(record: HeldRecord): Lane {
    const key = keyOf(record);
    if (key === null) return this.unkeyed;
    let lane = this.byKey.get(key);
    if (lane === undefined) {
      lane = new Lane();
      this.byKey.set(key, lane);
    }
    return lane;
  }
}
