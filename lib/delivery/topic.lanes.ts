import type { OutboxEntry } from '../kernel/outbox-store.interface.js';
import type { BusPause } from './bus.pause.js';
import type { AttemptResult, DeliveryAttempt } from './delivery.attempt.js';
import type { DeliveryLog } from './delivery.log.js';
import type { TopicReturns } from './topic.returns.js';

/** Sends in flight at once, each of other topics. */
export const MAX_SENDS_IN_FLIGHT = 4;

const BEHIND = 'not sent yet: an earlier message of its topic went back into line';

/** A claimed message waiting for its topic, or for a free slot. */
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
  /** Called whenever a send has ended: a slot and its topics are free. */
  readonly settled: () => void;
}

/**
 * Per-topic order, kept by the delivery worker whatever the messenger does:
 * up to `MAX_SENDS_IN_FLIGHT` sends run at once, but **never two that share a
 * topic**. Claims stay whole (the store's `claim()` knows nothing of topics in
 * flight here: it skips the caller's own leases); the claimed messages are
 * split instead. Those of a topic with a send in flight are held, in claim
 * order, still leased (up to a batch per slot in all), and go out once that
 * send settled; the others go out at once, several topics in one `send()`,
 * and a backlog is cut topic by topic into batches sent side by side. So
 * many topics still travel in parallel, and a hot topic is pipelined (its
 * next batch is claimed while the previous one is on the wire, and goes out
 * as soon as the bus took it) without ever overtaking.
 *
 * Held messages are given back to the store (`TopicReturns`: due now, not
 * counted as an attempt), so that its oldest-first claim decides again, when:
 * - an earlier message of their topic went back into line (an attempt not
 *   counted: the bus was unreachable, a link dropped), since sending them
 *   would overtake it; likewise messages of that topic that a claim running
 *   meanwhile brings back;
 * - delivery pauses (bus unreachable);
 * - they waited for half of `sendTimeoutMs` (behind a slow send, or for a
 *   slot): their send would start with too little of its deadline left.
 *
 * A message whose attempt counted steps out of line as the store's contract
 * says, and the held messages after it go on. That includes a send that
 * timed out: its topic is free again even if the messenger is still busy
 * with it, since its messages count as failed and will be retried anyway.
 */
export class TopicLanes {
  private held: Held[] = [];
  private sends = 0;
  /** Topics with a send in flight. */
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
   * Returns how many went straight back to the store (behind an older message of their topic).
   */
  claimed(entries: readonly OutboxEntry[], claimedAt: number): number {
    const { returns, sendTimeoutMs } = this.context;
    const arrivedAt = Date.now();
    const behind: OutboxEntry[] = [];
    for (const entry of entries) {
      if (returns.mayOvertake(entry.message.topic)) behind.push(entry);
      else this.held.push({ entry, deadline: claimedAt + sendTimeoutMs, arrivedAt });
    }
    returns.giveBack(behind, BEHIND);
    this.start();
    return behind.length;
  }

  /** Starts sends of held messages whose topic is free, while slots last. */
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
    const stale = new Set<string>();
    for (const { entry, arrivedAt } of this.held) {
      const { topic } = entry.message;
      if (!this.sending.has(topic) && now - arrivedAt >= sendTimeoutMs / 2) stale.add(topic);
    }
    returns.giveBack(
      this.take((topic) => stale.has(topic)),
      'not sent yet: waited for half of dispatch.sendTimeoutMs',
    );
    while (this.sends < MAX_SENDS_IN_FLIGHT) {
      const batch = this.nextBatch();
      if (batch.length === 0) break;
      this.launch(batch);
    }
  }

  /**
   * Up to `batchSize` held messages of topics not in flight, topic after topic (each in claim
   * order), so that the next batch takes other topics and goes out beside this one.
   */
  private nextBatch(): Held[] {
    const { batchSize } = this.context;
    const byTopic = new Map<string, Held[]>();
    for (const held of this.held) {
      const { topic } = held.entry.message;
      if (this.sending.has(topic)) continue;
      const group = byTopic.get(topic);
      if (group === undefined) byTopic.set(topic, [held]);
      else group.push(held);
    }
    const batch: Held[] = [];
    for (const group of byTopic.values()) {
      batch.push(...group.slice(0, batchSize - batch.length));
      if (batch.length === batchSize) break;
    }
    const chosen = new Set(batch);
    this.held = this.held.filter((held) => !chosen.has(held));
    return batch;
  }

  private launch(batch: readonly Held[]): void {
    const { attempt, returns, log } = this.context;
    const topics = new Set(batch.map(({ entry }) => entry.message.topic));
    for (const topic of topics) this.sending.add(topic);
    this.sends++;
    const deadline = batch.reduce((earliest, held) => Math.min(earliest, held.deadline), Infinity);
    let freed = false;
    const free = (): void => {
      // Once: by the time the attempt ends, the next send of a topic may have taken it.
      if (freed) return;
      freed = true;
      for (const topic of topics) this.sending.delete(topic);
    };
    const taken = (): void => {
      // The bus has them: the topics' next messages go out while the store records these.
      free();
      this.start();
    };
    const ended = ({ backInLine }: AttemptResult): void => {
      this.sends--;
      free();
      for (const topic of backInLine) returns.wentBack(topic);
      returns.giveBack(
        this.take((topic) => backInLine.has(topic)),
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

  /** Removes the held messages of topics that `matches`, and returns them in order. */
  private take(matches: (topic: string) => boolean): OutboxEntry[] {
    const taken: OutboxEntry[] = [];
    const rest: Held[] = [];
    for (const held of this.held) {
      if (matches(held.entry.message.topic)) taken.push(held.entry);
      else rest.push(held);
    }
    this.held = rest;
    return taken;
  }
}
