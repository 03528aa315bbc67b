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
import { claimableOfKey } from './outbox-claim.rule.js';
import { toOutboxEntry } from './outbox-entry.mapper.js';
import { outboxFilterPredicate } from './outbox-filter.js';
import { applyFailure, newMessages, NO_ATTEMPTS, type OutboxRecord } from './outbox-record.js';

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
  /**
   * Let the store start while `NODE_ENV` is `production`. It refuses by default there: it loses
   * every accepted, undelivered message when the process dies, which a production service
   * rarely means to accept. Default: `false`.
   */
  allowInProduction?: boolean;
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
  // Pending records per ordering key, oldest first: claim() walks only key heads. A message
  // without a key is a lane of its own, under the message itself.
  private readonly pendingByKey = new Map<string | Message, OutboxRecord[]>();
  private sequence = 0;

  /**
   * @throws MessagingOptionsError when `maxMessages` is not a positive whole number, or when
   *   `NODE_ENV` is `production` and `allowInProduction` is not `true`.
   */
  constructor(options: MemoryOutboxStoreOptions = {}) {
    const { maxMessages = 10_000, allowInProduction = false } = options;
    const issues: string[] = [];
    if (!Number.isInteger(maxMessages) || maxMessages < 1)
      issues.push(`maxMessages: expected a whole number >= 1, got ${String(maxMessages)}`);
    if (typeof allowInProduction !== 'boolean')
      issues.push(`allowInProduction: expected true or false, got ${JSON.stringify(allowInProduction)}`);
    else if (!allowInProduction && process.env.NODE_ENV === 'production')
      issues.push(
        'allowInProduction: NODE_ENV is production, and a MemoryOutboxStore (the default outbox) loses every ' +
          'undelivered message when the process dies. Configure a durable outbox (SqliteOutboxStore, ' +
          'PostgresOutboxStore), or accept the loss: outbox: new MemoryOutboxStore({ allowInProduction: true })',
      );
    if (issues.length > 0) throw new MessagingOptionsError(issues, 'MemoryOutboxStore options');
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
   * Stores `messages` at once (what `Outbox` calls). Ids already held are skipped (idempotent).
   * @throws OutboxFullError when they would not fit in `maxMessages`; none of them is stored then.
   */
  appendNow(messages: readonly Message[], options?: AppendOptions): void {
    const fresh = newMessages(messages, (id) => this.records.has(id));
    if (this.records.size + fresh.length > this.maxMessages) {
      throw new OutboxFullError(messages, this.maxMessages);
    }
    const now = Date.now();
    const availableAt = options?.availableAt;
    for (const message of fresh) {
      const due = availableAt?.get(message.id);
      const record: OutboxRecord = {
        message,
        sequence: ++this.sequence,
        createdAt: now,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: due ?? now,
        lastError: undefined,
        deadReason: undefined,
        history: NO_ATTEMPTS,
        settledAt: undefined,
        leaseOwner: undefined,
        leaseExpiresAt: undefined,
        // Delayed: its key's later messages wait for it.
        holdsKey: due !== undefined && due > now && message.key !== null,
      };
      this.records.set(message.id, record);
      this.queueOf(record).push(record);
    }
  }

  claim({ owner, limit, now, leaseMs }: ClaimRequest): Promise<OutboxEntry[]> {
    // Per-key order: the shared claim rule on each key's queue, then the oldest across keys.
    const claimable: OutboxRecord[] = [];
    for (const queue of this.pendingByKey.values()) {
      for (const record of claimableOfKey(queue, owner, now, limit)) claimable.push(record);
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
    for (const queue of this.pendingByKey.values()) {
      for (const record of queue) {
        // A leased message becomes claimable again when its lease runs out.
        const due = Math.max(record.nextAttemptAt, record.leaseExpiresAt ?? 0);
        if (earliest === undefined || due < earliest) earliest = due;
        // The key's later messages wait for a holding one.
        if (record.holdsKey) break;
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
      record.holdsKey = false;
      const queue = this.queueOf(record);
      queue.push(record);
      // Back in its place among the key's pending messages.
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

  private queueOf({ message }: OutboxRecord): OutboxRecord[] {
    const lane = message.key ?? message;
    let queue = this.pendingByKey.get(lane);
    if (queue === undefined) {
      queue = [];
      this.pendingByKey.set(lane, queue);
    }
    return queue;
  }

  private unqueue(record: OutboxRecord): void {
    const lane = record.message.key ?? record.message;
    const queue = this.pendingByKey.get(lane);
    if (queue === undefined) return;
    // Delivered messages are almost always the head of their key's queue.
    const index = queue[0] === record ? 0 : queue.indexOf(record);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.pendingByKey.delete(lane);
  }
}
