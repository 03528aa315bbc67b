import type { OutboxEntry } from '../kernel/outbox-store.interface.js';
import type { BusPause } from './bus.pause.js';
import type { AttemptResult, DeliveryAttempt } from './delivery.attempt.js';
import type { DeliveryLog } from './delivery.log.js';
import type { TopicReturns } from './topic.returns.js';

/** Sends in flight at once, each of other ordering keys. */
export const MAX_SENDS_IN_FLIGHT = 4;

const BEHIND = 'not sent yet: an earlier message of its ordering key went back into line';

/** A claimed message waiting for its ordering key, or for a free slot. */
interface Held {
  readonly entry: OutboxEntry;
  /** When its send must have settled, in ms since the epoch: the claim's time plus `sendTimeoutMs`. */
  readonly deadline: number;
  /** When its claim came back, in ms since the epoch. */
  readonly arrivedAt: number;
}

/** What the lanes need; shared with the rest of one delivery worker. */
export interface LanesContext {
  readonly attempt: DeliveryAttempt;
  readonly returns: TopicReturns;
  readonly pause: BusPause;
  readonly log: DeliveryLog;
  readonly batchSize: number;
  readonly sendTimeoutMs: number;
  /** Called whenever a send has ended: a slot and its keys are free. */
  readonly settled: () => void;
}

/**
 * Per-key order, kept by the delivery worker whatever the messenger does: up
 * to `MAX_SENDS_IN_FLIGHT` sends run at once, but **never two that share an
 * ordering key** (`Message.key`; messages without a key share none). Claims
 * stay whole (the store's `claim()` knows nothing of keys in flight here: it
 * skips the caller's own leases); the claimed messages are split instead.
 * Those of a key with a send in flight are held, in claim order, still leased
 * (up to a batch per slot in all), and go out once that send settled; the
 * others go out at once, several keys in one `send()` (in claim order within
 * a key, which the messenger keeps), and a backlog is cut key by key into
 * batches sent side by side. So many keys still travel in parallel, and a hot
 * key is pipelined (its next batch is claimed while the previous one is on
 * the wire, and goes out as soon as the bus took it) without ever overtaking.
 *
 * Held messages are given back to the store (`TopicReturns`: due now, not
 * counted as an attempt), so that its oldest-first claim decides again, when:
 * - an earlier message of their key went back into line (an attempt not
 *   counted: the bus was unreachable, a link dropped), or failed and holds
 *   its key (`dispatch.ordering.onFailure: 'hold'`), since sending them
 *   would overtake it; likewise messages of that key that a claim running
 *   meanwhile brings back;
 * - delivery pauses (bus unreachable);
 * - they waited for half of `sendTimeoutMs` (behind a slow send, or for a
 *   slot): their send would start with too little of its deadline left.
 *
 * A message whose attempt counted and that steps aside (the default) steps
 * out of line as the store's contract says, and the held messages after it
 * go on. That includes a send that timed out: its key is free again even if
 * the messenger is still busy with it, since its messages count as failed
 * and will be retried anyway.
 */
export class TopicLanes {
  private held: Held[] = [];
  private sends = 0;
  /** Ordering keys with a send in flight. */
  private readonly sending = new Set<string>();

  constructor(private readonly context: LanesContext) {}

  /** Whether nothing is held, in flight, or being given back. */
  get idle(): boolean {
    return this.sends === 0 && this.held.length === 0 && this.context.returns.idle;
  }

  /** Whether another claim fits: a send slot is free and fewer than a batch per slot are held. */
  get hasRoom(): boolean {
    return this.sends < MAX_SENDS_IN_FLIGHT && this.held.length < MAX_SENDS_IN_FLIGHT * this.context.batchSize;
  }

  /**
   * Takes the messages of a claim requested at `claimedAt` (ms since the epoch) and starts what may go.
   * Returns how many went straight back to the store (behind an older message of their key).
   */
  claimed(entries: readonly OutboxEntry[], claimedAt: number): number {
    const { returns, sendTimeoutMs } = this.context;
    const arrivedAt = Date.now();
    const behind: OutboxEntry[] = [];
    for (const entry of entries) {
      const { key } = entry.message;
      if (key !== null && returns.mayOvertake(key)) behind.push(entry);
      else this.held.push({ entry, deadline: claimedAt + sendTimeoutMs, arrivedAt });
    }
    returns.giveBack(behind, BEHIND);
    this.start();
    return behind.length;
  }

  /** Starts sends of held messages whose key is free, while slots last. */
  start(): void {
    const { pause, returns, sendTimeoutMs } = this.context;
    const now = Date.now();
    if (pause.isPaused(now)) {
      returns.giveBack(
        this.take(() => true),
        'not sent yet: the bus is unreachable',
      );
      return;
    }
    // Held in arrival order (each claim appended as it came back): when the first waited less than
    // half the timeout, so did the rest, and nothing is allocated to find out.
    if (this.held.length > 0 && now - this.held[0].arrivedAt >= sendTimeoutMs / 2) this.giveBackStale(now);
    while (this.sends < MAX_SENDS_IN_FLIGHT) {
      const batch = this.nextBatch();
      if (batch.length === 0) break;
      this.launch(batch);
    }
  }

  /** Gives back the held messages that waited for half of `sendTimeoutMs`, but those of a key in flight. */
  private giveBackStale(now: number): void {
    const { returns, sendTimeoutMs } = this.context;
    const stale = new Set<string>();
    const staleOnes = new Set<OutboxEntry>();
    for (const { entry, arrivedAt } of this.held) {
      const { key } = entry.message;
      if (now - arrivedAt < sendTimeoutMs / 2) continue;
      if (key === null) staleOnes.add(entry);
      else if (!this.sending.has(key)) stale.add(key);
    }
    returns.giveBack(
      this.take((key, entry) => (key === null ? staleOnes.has(entry) : stale.has(key))),
      'not sent yet: waited for half of dispatch.sendTimeoutMs',
    );
  }

  /**
   * Up to `batchSize` held messages of keys not in flight, key after key (each in claim
   * order), so that the next batch takes other keys and goes out beside this one. Messages
   * without a key are each a group of their own.
   */
  private nextBatch(): Held[] {
    const { batchSize } = this.context;
    const byKey = new Map<string | Held, Held[]>();
    for (const held of this.held) {
      const { key } = held.entry.message;
      if (key !== null && this.sending.has(key)) continue;
      const lane = key ?? held;
      const group = byKey.get(lane);
      if (group === undefined) byKey.set(lane, [held]);
      else group.push(held);
    }
    const batch: Held[] = [];
    for (const group of byKey.values()) {
      batch.push(...group.slice(0, batchSize - batch.length));
      if (batch.length === batchSize) break;
    }
    const chosen = new Set(batch);
    this.held = this.held.filter((held) => !chosen.has(held));
    return batch;
  }

  private launch(batch: readonly Held[]): void {
    const { attempt, returns, log } = this.context;
    const keys = new Set<string>();
    for (const { entry } of batch) if (entry.message.key !== null) keys.add(entry.message.key);
    for (const key of keys) this.sending.add(key);
    this.sends++;
    const deadline = batch.reduce((earliest, held) => Math.min(earliest, held.deadline), Infinity);
    let freed = false;
    const free = (): void => {
      // Once: by the time the attempt ends, the next send of a key may have taken it.
      if (freed) return;
      freed = true;
      for (const key of keys) this.sending.delete(key);
    };
    const taken = (): void => {
      // The bus has them: the keys' next messages go out while the store records these.
      free();
      this.start();
    };
    const ended = ({ backInLine }: AttemptResult): void => {
      this.sends--;
      free();
      for (const key of backInLine) returns.wentBack(key);
      returns.giveBack(
        this.take((key) => key !== null && backInLine.has(key)),
        BEHIND,
      );
      this.start();
      this.context.settled();
    };
    // run() does not reject; should it, the messages stay leased until their lease runs out.
    void attempt
      .run(
        batch.map(({ entry }) => entry),
        deadline,
        taken,
      )
      .catch((error: unknown): AttemptResult => {
        log.storeFailed(error);
        return { backInLine: new Set() };
      })
      .then(ended);
  }

  /** Removes the held messages that `matches` (by key, or the entry for a message without one), and returns them in order. */
  private take(matches: (key: string | null, entry: OutboxEntry) => boolean): OutboxEntry[] {
    const taken: OutboxEntry[] = [];
    const rest: Held[] = [];
    for (const held of this.held) {
      if (matches(held.entry.message.key, held.entry)) taken.push(held.entry);
      else rest.push(held);
    }
    this.held = rest;
    return taken;
  }
}
