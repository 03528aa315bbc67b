import type { OutboxCounts, OutboxEntry, OutboxStore } from 'nestjs-messaging';

/**
 * An outbox that takes every message and keeps none (the `one-message-discard` variant): the
 * request side's whole path (create, batch, accept, wake the dispatcher) runs, the dispatcher
 * looks and finds nothing. Beside the memory outbox, it splits one message's cost into the
 * request side and the store plus delivery. A benchmark instrument, never an outbox.
 */
export class DiscardingOutboxStore implements OutboxStore {
  readonly durable = false;
  readonly preferredBatchWindowMs = 5;
  private accepted = 0;

  append(): Promise<void> {
    this.accepted++;
    return Promise.resolve();
  }

  appendNow(): void {
    this.accepted++;
  }

  claim(): Promise<OutboxEntry[]> {
    return Promise.resolve([]);
  }

  markDelivered(): Promise<void> {
    return Promise.resolve();
  }

  reschedule(): Promise<void> {
    return Promise.resolve();
  }

  nextDueAt(): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }

  list(): Promise<OutboxEntry[]> {
    return Promise.resolve([]);
  }

  /** Counts what it took as delivered, so the runner's check that messages went out holds. */
  counts(): Promise<OutboxCounts> {
    return Promise.resolve({ pending: 0, delivered: this.accepted, dead: 0 });
  }

  retry(): Promise<number> {
    return Promise.resolve(0);
  }

  purge(): Promise<number> {
    return Promise.resolve(0);
  }
}
