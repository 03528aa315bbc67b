import type { OutboxStore } from '../kernel/outbox-store.interface.js';
import type { BusPause } from './bus.pause.js';
import type { DeliveryLog } from './delivery.log.js';
import type { DeliveryPump } from './delivery.pump.js';
import type { TopicLanes } from './topic.lanes.js';

/** At most this many ids of lost messages are named in the memory store's shutdown error. */
const LEFTOVER_IDS = 1000;

/** What the drain needs; shared with the rest of one delivery worker. */
export interface DrainContext {
  readonly store: OutboxStore;
  readonly pump: DeliveryPump;
  readonly lanes: TopicLanes;
  readonly pause: BusPause;
  readonly log: DeliveryLog;
  /** How long the drain may take, in ms (`shutdownTimeoutMs`). */
  readonly shutdownTimeoutMs: number;
  /** How many batches (requests, `run()` calls, operations) are open or being appended now. */
  readonly openBatches: () => number;
}

/**
 * The delivery worker's shutdown: stop claiming new work, let what is in
 * flight settle, then deliver what is pending one batch at a time until
 * `shutdownTimeoutMs` is up or the bus turns out unreachable, and report what
 * is left (kept by a durable store; lost, id by id, from the memory store).
 */
export class ShutdownDrain {
  private readonly idleChecks = new Set<() => void>();
  private ended = false;
  // How many batches closed during the drain.
  private closes = 0;

  constructor(private readonly context: DrainContext) {}

  /** Something ended (a send, a give-back, a look at the store): whoever waits for idle checks again. */
  notify(): void {
    for (const check of [...this.idleChecks]) check();
  }

  /** A batch closed (its messages, if any, are in the store or on their way): look again. */
  batchClosed(): void {
    this.closes++;
    this.notify();
  }

  /**
   * Whether the drain has decided to stop delivering: from then on this process sends nothing
   * more, and `Outbox.accept` refuses messages a non-durable store would only lose.
   */
  get hasEnded(): boolean {
    return this.ended;
  }

  /**
   * Drains and reports; resolves within `shutdownTimeoutMs` plus the time to count what is left.
   * Messages of requests in flight are delivered too: while the store looks empty but batches are
   * still open (requests, `run()` calls, appends in flight), it waits for the next one to close and
   * looks again; with none open it ends, then looks once more for what arrived meanwhile.
   */
  async run(): Promise<void> {
    const { pump, pause, log } = this.context;
    const deadline = Date.now() + this.context.shutdownTimeoutMs;
    pump.stop();
    await this.whenIdle(deadline);
    // The pause is ignored: the bus may be back already, and the messenger knows; the first
    // "unreachable" ends the drain.
    pause.lift();
    try {
      while (Date.now() < deadline && pause.pausedUntil === 0) {
        if ((await pump.claimOnce()) === 0) {
          if (this.ended) break;
          if (this.context.openBatches() > 0) {
            await this.whenBatchCloses(deadline);
            continue;
          }
          // Nothing left: end, then one more look for messages accepted during the last one.
          this.ended = true;
          continue;
        }
        await this.whenIdle(deadline);
      }
    } catch (error) {
      log.storeFailed(error);
    }
    this.ended = true;
    log.stop();
    await this.reportLeftovers();
  }

  private isIdle(): boolean {
    return this.context.lanes.idle && !this.context.pump.busy;
  }

  /** Resolves when nothing is in flight and the pump rests, or at `deadline`. */
  private whenIdle(deadline: number): Promise<void> {
    return this.until(() => this.isIdle(), deadline);
  }

  /** Resolves when the next batch closes, or at `deadline`. */
  private whenBatchCloses(deadline: number): Promise<void> {
    const seen = this.closes;
    return this.until(() => this.closes !== seen, deadline);
  }

  /** Resolves once `condition` holds at a `notify()`, or at `deadline`. */
  private until(condition: () => boolean, deadline: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.idleChecks.delete(check);
        resolve();
      };
      const check = (): void => {
        if (condition()) finish();
      };
      const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
      this.idleChecks.add(check);
    });
  }

  /**
   * Logs how many messages are left pending: a counting query for a durable store. Only the
   * memory store's (in this process's memory, about to be lost) are listed, by id, at most
   * `LEFTOVER_IDS`.
   */
  private async reportLeftovers(): Promise<void> {
    const { store, log } = this.context;
    const { pending } = await store.counts();
    if (pending === 0) return;
    const ids = store.durable ? [] : (await store.list({ status: 'pending' }, LEFTOVER_IDS)).map((e) => e.message.id);
    log.leftovers(pending, store.durable, ids);
  }
}
