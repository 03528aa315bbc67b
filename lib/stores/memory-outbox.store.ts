import type { Message } from '../kernel/message.interface.js';
import { MessagingOptionsError } from '../kernel/messaging.errors.js';
import { OutboxFullError } from '../kernel/outbox.errors.js';
import type {
  AppendOptions,
  ClaimRequest,
  FailedAttempt,
  OutboxCounts,
  OutboxEntry,
  OutboxFilter,
  OutboxStore,
} from '../kernel/outbox-store.interface.js';
import { claimableOfTopic } from './outbox-claim.rule.js';
import { toOutboxEntry } from './outbox-entry.mapper.js';
import { outboxFilterPredicate } from './outbox-filter.js';
import { applyFailure, type OutboxRecord } from './outbox-record.js';

/** Options of `MemoryOutboxStore`. */
export interface MemoryOutboxStoreOptions {
  /**
   * Most messages held at once (pending, dead and retained delivered ones).
   * A request (or `run()`) whose messages would not fit fails with
   * `OutboxFullError` (HTTP 503), and they are logged and counted as refused:
   * never an unbounded heap, never a success whose messages were dropped.
   * Default: `10000`.
   */
  maxMessages?: number;
}

/**
 * The default outbox: in the process's memory, bounded, and lost when the
 * process dies. It gives non-blocking sending and retries across broker
 * outages; use `SqliteOutboxStore` when accepted messages must survive a crash.
 */
export class MemoryOutboxStore implements OutboxStore {
  readonly durable = false;
  private readonly maxMessages: number;
  private readonly records = new Map<string, OutboxRecord>();
  // Pending records per topic, oldest first: claim() walks only topic heads.
  private readonly pendingByTopic = new Map<string, OutboxRecord[]>();
  private sequence = 0;

  /** @throws MessagingOptionsError when `maxMessages` is not a positive whole number. */
  constructor(options: MemoryOutboxStoreOptions = {}) {
    const { maxMessages = 10_000 } = options;
    if (!Number.isInteger(maxMessages) || maxMessages < 1) {
      throw new MessagingOptionsError(
        [`maxMessages: expected a whole number >= 1, got ${String(maxMessages)}`],
        'MemoryOutboxStore options',
      );
    }
    this.maxMessages = maxMessages;
  }

  /** @returns a promise that rejects with `OutboxFullError` when the messages would not fit. */
  append(messages: readonly Message[], options?: AppendOptions): Promise<void> {
    try {
      this.appendNow(messages, options);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Stores `messages` at once (what `Outbox` calls).
   * @throws OutboxFullError when they would not fit in `maxMessages`; none of them is stored then.
   */
  appendNow(messages: readonly Message[], options?: AppendOptions): void {
    if (this.records.size + messages.length > this.maxMessages) {
      throw new OutboxFullError(messages, this.maxMessages);
    }
    const now = Date.now();
    const availableAt = options?.availableAt;
    for (const message of messages) {
      const record: OutboxRecord = {
        message,
        sequence: ++this.sequence,
        createdAt: now,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: availableAt?.get(message.id) ?? now,
        lastError: undefined,
        deadReason: undefined,
        history: [],
        settledAt: undefined,
        leaseOwner: undefined,
        leaseExpiresAt: undefined,
      };
      this.records.set(message.id, record);
      this.queueOf(message.topic).push(record);
    }
  }

  claim({ owner, limit, now, leaseMs }: ClaimRequest): Promise<OutboxEntry[]> {
    // Per-topic order: the shared claim rule on each topic's queue, then the oldest across topics.
    const claimable: OutboxRecord[] = [];
    for (const queue of this.pendingByTopic.values()) {
      for (const record of claimableOfTopic(queue, owner, now, limit)) claimable.push(record);
    }
    claimable.sort((a, b) => a.sequence - b.sequence);
    const claimed = claimable.slice(0, limit);
    for (const record of claimed) {
      record.leaseOwner = owner;
      record.leaseExpiresAt = now + leaseMs;
    }
    return Promise.resolve(claimed.map(toOutboxEntry));
  }

  markDelivered(owner: string, ids: readonly string[], now: number, retain: boolean): Promise<void> {
    for (const id of ids) {
      const record = this.leasedBy(owner, id);
      if (record === undefined) continue;
      this.unqueue(record);
      if (retain) {
        record.status = 'delivered';
        record.settledAt = now;
        record.leaseOwner = undefined;
        record.leaseExpiresAt = undefined;
      } else {
        this.records.delete(id);
      }
    }
    return Promise.resolve();
  }

  reschedule(owner: string, failures: readonly FailedAttempt[], now: number): Promise<void> {
    for (const failure of failures) {
      const record = this.leasedBy(owner, failure.id);
      if (record === undefined) continue;
      applyFailure(record, failure, now);
      if (record.status === 'dead') this.unqueue(record);
    }
    return Promise.resolve();
  }

  nextDueAt(): Promise<number | undefined> {
    let earliest: number | undefined;
    for (const queue of this.pendingByTopic.values()) {
      for (const record of queue) {
        // A leased message becomes claimable again when its lease runs out.
        const due = Math.max(record.nextAttemptAt, record.leaseExpiresAt ?? 0);
        if (earliest === undefined || due < earliest) earliest = due;
      }
    }
    return Promise.resolve(earliest);
  }

  list(filter: OutboxFilter, limit: number): Promise<OutboxEntry[]> {
    // Records are kept in acceptance order: stop at `limit` (a health check lists one).
    const matches = outboxFilterPredicate(filter);
    const found: OutboxEntry[] = [];
    for (const record of this.records.values()) {
      if (found.length >= limit) break;
      if (matches(record)) found.push(toOutboxEntry(record));
    }
    return Promise.resolve(found);
  }

  counts(): Promise<OutboxCounts> {
    const counts = { pending: 0, delivered: 0, dead: 0 };
    for (const record of this.records.values()) counts[record.status]++;
    return Promise.resolve(counts);
  }

  retry(filter: OutboxFilter, now: number): Promise<number> {
    const dead = this.matching({ ...filter, status: 'dead' });
    for (const record of dead) {
      record.status = 'pending';
      record.attempts = 0;
      record.nextAttemptAt = now;
      record.settledAt = undefined;
      record.deadReason = undefined;
      const queue = this.queueOf(record.message.topic);
      queue.push(record);
      // Back in its place among the topic's pending messages.
      queue.sort((a, b) => a.sequence - b.sequence);
    }
    return Promise.resolve(dead.length);
  }

  purge(filter: OutboxFilter): Promise<number> {
    let purged = 0;
    for (const record of this.matching(filter)) {
      if (record.status === 'pending') continue;
      this.records.delete(record.message.id);
      purged++;
    }
    return Promise.resolve(purged);
  }

  private matching(filter: OutboxFilter): OutboxRecord[] {
    return [...this.records.values()].filter(outboxFilterPredicate(filter));
  }

  private leasedBy(owner: string, id: string): OutboxRecord | undefined {
    const record = this.records.get(id);
    return record?.status === 'pending' && record.leaseOwner === owner ? record : undefined;
  }

  private queueOf(topic: string): OutboxRecord[] {
    let queue = this.pendingByTopic.get(topic);
    if (queue === undefined) {
      queue = [];
      this.pendingByTopic.set(topic, queue);
    }
    return queue;
  }

  private unqueue(record: OutboxRecord): void {
    const queue = this.pendingByTopic.get(record.message.topic);
    if (queue === undefined) return;
    // Delivered messages are almost always the head of their topic's queue.
    const index = queue[0] === record ? 0 : queue.indexOf(record);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.pendingByTopic.delete(record.message.topic);
  }
}
