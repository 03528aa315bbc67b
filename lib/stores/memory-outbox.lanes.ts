import { claimableOfKey, isClaimableAlone } from './outbox-claim.rule.js';
import { CompactRecord, type HeldRecord } from './compact-outbox-record.js';

function keyOf(record: HeldRecord): string | null {
  return record instanceof CompactRecord ? record.key : record.message.key;
}

const bySequence = (a: HeldRecord, b: HeldRecord): number => a.sequence - b.sequence;

/**
 * The pending messages of `MemoryOutboxStore` in claim order: one queue per ordering key, oldest
 * first, so that a claim walks only what each key may hand out; and one queue of all messages
 * without a key, each of them claimable on its own (a Map entry and an array per such message
 * would cost more than the message's own fields).
 */
export class PendingLanes {
  private readonly byKey = new Map<string, HeldRecord[]>();
  private readonly unkeyed: HeldRecord[] = [];

  /** Adds the newest pending message. */
  push(record: HeldRecord): void {
    this.laneOf(record).push(record);
  }

  /** Puts a message pending again (a retried dead one) back in its place among its lane's. */
  insert(record: HeldRecord): void {
    const lane = this.laneOf(record);
    lane.push(record);
    lane.sort(bySequence);
  }

  remove(record: HeldRecord): void {
    const key = keyOf(record);
    const lane = key === null ? this.unkeyed : this.byKey.get(key);
    if (lane === undefined) return;
    // Delivered messages are almost always at the head of their lane.
    const index = lane[0] === record ? 0 : lane.indexOf(record);
    if (index >= 0) lane.splice(index, 1);
    if (key !== null && lane.length === 0) this.byKey.delete(key);
  }

  /** Puts `replacement` (the same message, expanded) where `record` is. */
  replace(record: HeldRecord, replacement: HeldRecord): void {
    const key = keyOf(record);
    const lane = key === null ? this.unkeyed : this.byKey.get(key);
    const index = lane?.indexOf(record) ?? -1;
    if (lane !== undefined && index >= 0) lane[index] = replacement;
  }

  /** What `owner` may claim at `now` (the shared claim rule), at most `limit` per lane, in no order across lanes. */
  claimable(owner: string, now: number, limit: number): HeldRecord[] {
    const claimable: HeldRecord[] = [];
    for (const lane of this.byKey.values()) {
      for (const record of claimableOfKey(lane, owner, now, limit)) claimable.push(record);
    }
    let unkeyed = 0;
    for (const record of this.unkeyed) {
      if (unkeyed >= limit) break;
      if (!isClaimableAlone(record, now)) continue;
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
    for (const lane of this.byKey.values()) {
      for (const record of lane) {
        consider(record);
        // The key's later messages wait for a holding one.
        if (record.holdsKey) break;
      }
    }
    for (const record of this.unkeyed) consider(record);
    return earliest;
  }

  private laneOf(record: HeldRecord): HeldRecord[] {
    const key = keyOf(record);
    if (key === null) return this.unkeyed;
    let lane = this.byKey.get(key);
    if (lane === undefined) {
      lane = [];
      this.byKey.set(key, lane);
    }
    return lane;
  }
}
