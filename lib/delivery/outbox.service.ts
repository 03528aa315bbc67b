import { appendOptionsOf, scheduledAt } from '../kernel/message-schedule.js';
import { Inject, Injectable } from '@nestjs/common';
import type { Message } from '../kernel/message.interface.js';
import { MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import { OutboxClosedError, OutboxWriteError } from '../kernel/outbox.errors.js';
import { OutboxStore } from '../kernel/outbox-store.interface.js';
import { AttemptWaiters } from './attempt.waiters.js';
import { BusPause } from './bus.pause.js';
import { publishAccepted } from './delivery.events.js';
import { DeliveryLog } from './delivery.log.js';
import { DeliveryWorker } from './delivery.worker.js';
import type { DeliveryConfig } from './dispatch-options.interface.js';
import { OutboxCounters, type DispatchCounters } from './outbox.counters.js';

/**
 * The seam between the request side and delivery (internal): the one place
 * that accepts messages. It stores each closed batch exactly once (or hears
 * that a database transaction committed it), counts it, wakes the delivery
 * worker, makes `delivery: 'await'` responses wait for the first attempt, and
 * logs what the store refused. The interceptor, `MessageQueue` (`run()` and
 * transactions) and `OutboxAdmin` go through it, and through nothing else of
 * delivery.
 */
@Injectable()
export class Outbox {
  constructor(
    @Inject(OutboxStore) private readonly store: OutboxStore,
    private readonly worker: DeliveryWorker,
    private readonly counters: OutboxCounters,
    private readonly waiters: AttemptWaiters,
    private readonly pause: BusPause,
    private readonly log: DeliveryLog,
    @Inject(MESSAGING_OPTIONS) private readonly config: DeliveryConfig,
  ) {}

  /**
   * Stores one batch (a request's or a `run()`'s messages, all or none).
   * Returns a promise to wait on before responding, `undefined` when there is
   * nothing to wait for: a non-durable store that takes messages at once
   * (`appendNow`, the memory store) and `delivery` not `'await'`. Whatever the store, a refusal
   * fails the caller (logged and counted `refused` too): a 2xx never stands for
   * messages the outbox did not take.
   *
   * Once the shutdown drain has ended, this process sends nothing more: a durable store still
   * takes the messages (sent after the next start, and logged so), the memory store would lose
   * them, so they are refused and the request (or `run()`) fails instead of answering a success.
   *
   * @throws (the promise rejects with) OutboxWriteError when the store could not take them
   *   (`OutboxFullError`, a subclass, when the memory store is full).
   * @throws (the promise rejects with) OutboxClosedError after the shutdown drain, for a non-durable store.
   */
  accept(messages: readonly Message[]): Promise<void> | undefined {
    if (messages.length === 0) return undefined;
    const { store } = this;
    if (this.worker.closed && !store.durable) return Promise.reject(new OutboxClosedError(messages));
    if (store.appendNow !== undefined && !store.durable) {
      // Synchronous: nothing to wait for on success, no promise allocated.
      try {
        store.appendNow(messages, appendOptionsOf(messages));
      } catch (error) {
        return Promise.reject(this.refused(messages, error));
      }
      this.accepted(messages);
      return this.config.delivery === 'await' ? this.whenAttempted(messages) : undefined;
    }
    let appending: Promise<void>;
    try {
      // This process's dispatcher is woken in accepted(): other instances need no wake-up too.
      appending = store.append(messages, appendOptionsOf(messages, !this.worker.closed));
    } catch (error) {
      // A store written in plain JavaScript may throw instead of rejecting.
      appending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    // The shutdown drain waits for appends in flight, as for open batches.
    this.worker.batchOpened();
    const stored = appending.then(
      () => {
        this.worker.batchClosed();
        this.accepted(messages);
      },
      (error: unknown) => {
        this.worker.batchClosed();
        throw this.refused(messages, error);
      },
    );
    return this.config.delivery === 'await' ? stored.then(() => this.whenAttempted(messages)) : stored;
  }

  /**
   * A request, `run()`, microservice call or GraphQL operation opened a batch of messages: the
   * shutdown drain does not end while it is open (up to `shutdownTimeoutMs`), so a request in
   * flight when `app.close()` starts still has its messages delivered. A plain count.
   */
  batchOpened(): void {
    this.worker.batchOpened();
  }

  /** That batch was taken (its messages go to `accept()` in the same turn) or dropped. */
  batchClosed(): void {
    this.worker.batchClosed();
  }

  /** Messages a database transaction inserted into the outbox have committed: count them and send them. */
  acceptCommitted(messages: readonly Message[]): void {
    this.accepted(messages);
  }

  /** Messages became due in the store another way (`OutboxAdmin.requeue()`): look at the store now. */
  wake(): void {
    this.worker.wake();
  }

  /** What this process did since it started: a snapshot. */
  sinceStart(): DispatchCounters {
    return this.counters.snapshot();
  }

  private refused(messages: readonly Message[], error: unknown): OutboxWriteError {
    this.counters.add('refused', messages.length);
    const refusal = asWriteError(messages, error);
    this.log.refused(messages, refusal.message);
    return refusal;
  }

  private accepted(messages: readonly Message[]): void {
    this.counters.add('accepted', messages.length);
    publishAccepted(messages, Date.now());
    // Stored after the shutdown drain (by a request still in flight): they wait for the next start.
    if (this.worker.closed)
      this.log.leftovers(
        messages.length,
        this.store.durable,
        messages.map(({ id }) => id),
      );
    else this.worker.wake();
  }

  /**
   * Resolves once each of `messages` was attempted (delivered, or failed once), after
   * `awaitTimeoutMs`, or at once while the bus is known to be unreachable.
   */
  private whenAttempted(messages: readonly Message[]): Promise<void> {
    // While the bus is unreachable, waiting would only hold the response until the next probe.
    // Nor once the shutdown drain has ended: nothing attempts them in this process any more.
    if (this.pause.isPaused() || this.worker.closed) return Promise.resolve();
    // A delayed message is not attempted before its time: the response does not wait for it.
    const due = messages.filter((message) => scheduledAt(message) === undefined);
    if (due.length === 0) return Promise.resolve();
    return this.waiters.waitFor(due, this.config.dispatch.awaitTimeoutMs);
  }
}

function asWriteError(messages: readonly Message[], error: unknown): OutboxWriteError {
  if (error instanceof OutboxWriteError) return error;
  return new OutboxWriteError(messages, error instanceof Error ? error.message : String(error), { cause: error });
}
