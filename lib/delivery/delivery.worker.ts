import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import { Messenger } from '../kernel/messenger.interface.js';
import { OutboxStore } from '../kernel/outbox-store.interface.js';
import { AttemptWaiters } from './attempt.waiters.js';
import { BusPause } from './bus.pause.js';
import { DeliveryAttempt } from './delivery.attempt.js';
import { DeliveryLog } from './delivery.log.js';
import { DeliveryPump } from './delivery.pump.js';
import type { DeliveryConfig } from './dispatch-options.interface.js';
import { LeaseRecovery } from './lease.recovery.js';
import { ownerId } from './lease.owner.js';
import { OutboxCounters } from './outbox.counters.js';
import { RetentionPurge } from './retention.purge.js';
import { ShutdownDrain } from './shutdown.drain.js';
import { TopicLanes } from './topic.lanes.js';
import { TopicReturns } from './topic.returns.js';

/**
 * The delivery worker behind `Outbox` (internal): moves messages from the
 * outbox store to the messenger. It claims due messages under a lease
 * (`DeliveryPump`), sends them in batches, never two of one topic at once
 * (`TopicLanes`), records each attempt's outcome (`DeliveryAttempt`), pauses
 * while the bus is unreachable (`BusPause`), takes over at start-up the leases
 * of owners the store proves gone (`LeaseRecovery`), purges retained messages
 * (`RetentionPurge`) and drains on shutdown (`ShutdownDrain`).
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** This worker's lease owner id: `<host>-<pid>-<uuid>` (for operators; liveness is the store's to prove). */
  readonly owner = ownerId();
  private readonly pump: DeliveryPump;
  private readonly drain: ShutdownDrain;
  private readonly recovery: LeaseRecovery;
  private stopping = false;
  // Batches of requests, run() calls and operations still open, and appends in flight.
  private openBatches = 0;

  constructor(
    @Inject(OutboxStore) private readonly store: OutboxStore,
    @Inject(Messenger) messenger: Messenger,
    @Inject(MESSAGING_OPTIONS) config: DeliveryConfig,
    counters: OutboxCounters,
    waiters: AttemptWaiters,
    pause: BusPause,
    private readonly log: DeliveryLog,
  ) {
    const { dispatch } = config;
    const { owner } = this;
    const attempt = new DeliveryAttempt({ store, messenger, owner, dispatch, counters, waiters, pause, log });
    const settled = (): void => {
      this.pump.settled();
      this.drain.notify();
    };
    const returns = new TopicReturns({ store, owner, log, waiters, settled });
    const lanes = new TopicLanes({
      attempt,
      returns,
      pause,
      log,
      batchSize: dispatch.batchSize,
      sendTimeoutMs: dispatch.sendTimeoutMs,
      settled,
    });
    this.pump = new DeliveryPump({
      store,
      owner,
      dispatch,
      returns,
      batchWindowMs: dispatch.batchWindowMs ?? store.preferredBatchWindowMs ?? 0,
      lanes,
      pause,
      purge: new RetentionPurge(store, dispatch.retainDeliveredMs),
      log,
      rested: () => {
        this.drain.notify();
      },
    });
    this.drain = new ShutdownDrain({
      store,
      pump: this.pump,
      lanes,
      pause,
      log,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      openBatches: () => this.openBatches,
    });
    this.recovery = new LeaseRecovery(store, owner, log);
  }

  /** Sends what is already in the store once every module (the messenger's connection among them) is initialised. */
  async onApplicationBootstrap(): Promise<void> {
    // Messages committed by other processes, or by database transactions, wake us as they arrive.
    this.store.watch?.(() => {
      if (!this.stopping) this.wake();
    });
    try {
      await this.recovery.takeOverGoneOwners();
    } catch (error) {
      this.log.storeFailed(error);
    }
    // Messages left by a previous run (or another process) go out now, not at the first request.
    this.wake();
  }

  /** Stops claiming new work, delivers what it can within `shutdownTimeoutMs`, leaves the rest to the store. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.drain.run();
  }

  /**
   * Whether the shutdown drain has ended: this process delivers nothing more (what is accepted now
   * stays in a durable store for the next start, and would be lost from the memory store).
   */
  get closed(): boolean {
    return this.drain.hasEnded;
  }

  /** A batch opened (see `Outbox.batchOpened`): the shutdown drain waits for it. */
  batchOpened(): void {
    this.openBatches++;
  }

  /** That batch closed; during shutdown the drain looks at the store again. */
  batchClosed(): void {
    this.openBatches--;
    if (this.stopping) this.drain.batchClosed();
  }

  /** Asks for a look at the store now (messages were appended, committed or retried). */
  wake(): void {
    this.pump.wake();
  }
}
