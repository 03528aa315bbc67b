import { AsyncResource } from 'node:async_hooks';
import type { OutboxStore } from '../kernel/outbox-store.interface.js';
import type { BusPause } from './bus.pause.js';
import type { DeliveryLog } from './delivery.log.js';
import type { DispatchConfig } from './dispatch-options.interface.js';
import type { RetentionPurge } from './retention.purge.js';
import type { TopicLanes } from './topic.lanes.js';
import type { TopicReturns } from './topic.returns.js';

/** The soonest the timer looks again, in ms: a due time already past means another owner's lease is about to run out. */
const MIN_LOOK_DELAY_MS = 10;

/** What the pump needs; shared with the rest of one delivery worker. */
export interface PumpContext {
  readonly store: OutboxStore;
  /** The worker's lease owner id. */
  readonly owner: string;
  readonly dispatch: DispatchConfig;
  /** `dispatch.batchWindowMs`, or the store's preference, or 0. */
  readonly batchWindowMs: number;
  readonly lanes: TopicLanes;
  readonly returns: TopicReturns;
  readonly pause: BusPause;
  readonly purge: RetentionPurge;
  readonly log: DeliveryLog;
  /** Called each time the pump comes to rest. */
  readonly rested: () => void;
}

/**
 * When the delivery worker looks at the store: at once when woken (messages
 * appended, committed or retried; one look per event-loop turn however many
 * requests ended in it), after the batch window following a short claim, when
 * a slot frees up while work is waiting, and otherwise by a timer set to the
 * store's next due time (at most `pollIntervalMs` away) or to the end of a
 * bus pause. Each look claims batches (`batchSize`, leased for `leaseMs`)
 * while the lanes have room, then purges retained messages when due.
 */
export class DeliveryPump {
  private stopping = false;
  private pumping = false;
  private pumpScheduled = false;
  private wakeAgain = false;
  /** A look stopped because the lanes were full: the next send to end wakes the pump. */
  private waitingForRoom = false;
  /** The last claim was full: more may be due. */
  private lastClaimFull = false;
  /** Some of the last claim went straight back to the store: claiming again now would bring them back. */
  private lastClaimGaveBack = false;
  /** When a claim last came back short (nothing else due); the next one waits out the batch window from it. */
  private lastShortClaimAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  // Looks run outside any request's async context, which delivery must not carry along.
  private readonly root = new AsyncResource('nestjs-messaging:delivery');

  constructor(private readonly context: PumpContext) {}

  /** Whether a look is running now. */
  get busy(): boolean {
    return this.pumping;
  }

  /** Asks for a look at the store soon (new work was announced). No-op once stopped. */
  wake(): void {
    if (this.stopping) return;
    if (this.pumping) {
      this.wakeAgain = true;
      return;
    }
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    const run = (): void => {
      this.pumpScheduled = false;
      void this.pump();
    };
    // Right after a short batch, gather for the rest of the batch window.
    const gather = this.lastShortClaimAt + this.context.batchWindowMs - Date.now();
    this.root.runInAsyncScope(() => {
      if (gather > 0) setTimeout(run, gather);
      else setImmediate(run);
    });
  }

  /** Stops looking (shutdown): no more claims but through `claimOnce()`, no timer. */
  stop(): void {
    this.stopping = true;
    clearTimeout(this.timer);
  }

  /**
   * Claims one batch and hands it to the lanes; returns its size (0: nothing was due).
   * @throws what the store's `claim()` throws
   */
  async claimOnce(): Promise<number> {
    const { store, owner, dispatch, lanes, returns } = this.context;
    returns.claimStarted();
    // The lease, and the send deadline, count from here.
    const now = Date.now();
    const entries = await store.claim({ owner, limit: dispatch.batchSize, now, leaseMs: dispatch.leaseMs });
    this.lastClaimFull = entries.length === dispatch.batchSize;
    this.lastClaimGaveBack = entries.length > 0 && lanes.claimed(entries, now) > 0;
    return entries.length;
  }

  /** A send or a give-back ended: room for waiting work, or time to set the timer. */
  settled(): void {
    if (this.stopping) return;
    if (this.lastClaimFull || this.waitingForRoom) {
      this.waitingForRoom = false;
      this.wake();
    } else if (this.context.lanes.idle && !this.pumping) this.scheduleNextLook();
  }

  // Methods, not the fields: both change while the pump awaits the store.
  private isRunning(): boolean {
    return !this.stopping;
  }

  private wokenMeanwhile(): boolean {
    return this.wakeAgain;
  }

  private async pump(): Promise<void> {
    const { lanes, returns, pause, purge, log, dispatch, batchWindowMs } = this.context;
    this.pumping = true;
    try {
      do {
        this.wakeAgain = false;
        if (pause.isPaused()) break;
        while (this.isRunning()) {
          // No claim while messages are being given back: until the store has them again, it would
          // skip them (still leased here) and hand out newer ones of their topic, which would then have
          // to go back too, claim after claim. The give-back's end wakes the pump.
          if (!lanes.hasRoom || !returns.idle) {
            this.waitingForRoom = true;
            break;
          }
          // A short batch means nothing else was due: claiming again would come back empty.
          if ((await this.claimOnce()) < dispatch.batchSize) {
            this.lastShortClaimAt = Date.now();
            break;
          }
          // Messages given back, or a pause begun meanwhile: the give-back's end (or the pause's) wakes
          // the pump. Claiming on would take them again at once; with a synchronous store that loop
          // never yields, and starves the event loop (requests included).
          if (this.lastClaimGaveBack || pause.isPaused()) break;
        }
        // With a batch window, work that arrived meanwhile waits for it (see wake()).
      } while (this.wokenMeanwhile() && this.isRunning() && batchWindowMs === 0);
      await purge.purgeIfDue();
    } catch (error) {
      log.storeFailed(error);
    } finally {
      this.pumping = false;
      this.context.rested();
      if (this.wokenMeanwhile() && this.isRunning()) this.wake();
      // Work in the lanes wakes the pump when it ends; otherwise look again when work is due.
      else if (lanes.idle) this.scheduleNextLook();
    }
  }

  private scheduleNextLook(): void {
    if (this.stopping) return;
    const { pause, store, dispatch, log } = this.context;
    // Paused (bus unreachable): wake when the pause ends, without asking the store, whose
    // backlog grows with every request meanwhile.
    if (pause.isPaused()) {
      this.setTimer(pause.pausedUntil);
      return;
    }
    void store.nextDueAt().then(
      (due) => {
        if (this.stopping) return;
        const at = Date.now();
        const poll = at + dispatch.pollIntervalMs;
        this.setTimer(Math.max(pause.pausedUntil, at + MIN_LOOK_DELAY_MS, Math.min(poll, due ?? poll)));
      },
      (error: unknown) => {
        log.storeFailed(error);
        // Look again at the polling pace: without a timer, due retries would wait for the next append.
        if (!this.stopping) this.setTimer(Date.now() + dispatch.pollIntervalMs);
      },
    );
  }

  private setTimer(at: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.wake();
      },
      Math.max(0, at - Date.now()),
    );
    // The timer alone must not keep a finished script alive.
    this.timer.unref();
  }
}
