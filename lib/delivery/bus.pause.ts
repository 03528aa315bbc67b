import { Inject, Injectable } from '@nestjs/common';
import { MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import type { DeliveryConfig, DispatchConfig } from './dispatch-options.interface.js';
import { publishPaused, publishResumed } from './delivery.events.js';
import { DeliveryLog } from './delivery.log.js';
import { retryDelayMs } from './retry-schedule.js';

/**
 * The pause of all delivery while the bus is unreachable: each unreachable
 * attempt in a row lengthens it on the retry schedule, up to
 * `dispatch.busProbeIntervalMs`; the first batch the bus takes ends it.
 */
@Injectable()
export class BusPause {
  /** Until when nothing is sent, in ms since the epoch; `0` when not paused. */
  private until = 0;
  private unavailableStreak = 0;
  /** When the current pause began (the first unreachable attempt of the streak), in ms since the epoch. */
  private since = 0;
  private readonly dispatch: DispatchConfig;

  constructor(
    @Inject(MESSAGING_OPTIONS) config: DeliveryConfig,
    private readonly log: DeliveryLog,
  ) {
    this.dispatch = config.dispatch;
  }

  /** Until when delivery pauses, in ms since the epoch; `0` when it does not. */
  get pausedUntil(): number {
    return this.until;
  }

  /**
   * When the bus was first found unreachable in the current streak, in ms since the epoch;
   * `undefined` while the last attempt reached it.
   */
  get unreachableSince(): number | undefined {
    return this.unavailableStreak === 0 ? undefined : this.since;
  }

  /** Whether delivery pauses at `now`. */
  isPaused(now: number = Date.now()): boolean {
    return now < this.until;
  }

  /**
   * An attempt found the bus unreachable: pause (longer with each such attempt in a row).
   * `logged`: the messenger has already logged the reason at error level.
   */
  unavailable(reason: string, now: number, logged = false): void {
    this.unavailableStreak++;
    const delay = Math.min(retryDelayMs(this.dispatch.retry, this.unavailableStreak), this.dispatch.busProbeIntervalMs);
    this.until = Math.max(this.until, now + delay);
    this.log.unavailable(reason, this.until, logged);
    if (this.unavailableStreak === 1) {
      this.since = now;
      publishPaused(reason, this.until);
    }
  }

  /** The bus took a batch (at `now`, ms since the epoch): the pause, if any, is over. */
  available(now: number = Date.now()): void {
    if (this.unavailableStreak === 0) return;
    this.unavailableStreak = 0;
    this.until = 0;
    this.log.available();
    publishResumed(this.since, now);
  }

  /** Lifts the pause without forgetting the streak: the shutdown drain tries once more, in case the bus is back. */
  lift(): void {
    this.until = 0;
  }
}
