import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { BusPause } from '../delivery/bus.pause.js';
import { messengerStateOf } from '../kernel/messenger-state.js';
import { Messenger } from '../kernel/messenger.interface.js';
import { OutboxStore } from '../kernel/outbox-store.interface.js';
import { assessHealth, type HealthReadings, type MessagingHealthDetails } from './health.assessment.js';
import { resolveHealthThresholds, type MessagingHealthThresholds } from './health.thresholds.js';

/**
 * A `@nestjs/terminus` health indicator for messaging: the messenger's
 * connection (its `state` snapshot: `connected`, `reconnecting`, `refused`
 * with the broker's reason...), the outbox backlog (pending messages, age of
 * the oldest, dead messages) and whether delivery is paused. It is `down`
 * when a threshold is crossed (see `MessagingHealthThresholds` for the
 * defaults), with the reasons in `problems`.
 *
 * A check opens no connection: it reads the messenger's state, asks the
 * outbox store for its counts and its oldest pending message (two cheap
 * queries on a SQL store), and reads the delivery pause. Provided by
 * `MessagingHealthModule`; needs `MessagingModule` registered globally (the default).
 *
 * @example
 * ```ts
 * @Controller('health')
 * export class HealthController {
 *   constructor(
 *     private readonly health: HealthCheckService,
 *     private readonly messaging: MessagingHealthIndicator,
 *   ) {}
 *
 *   @Get()
 *   @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.messaging.check('messaging')]);
 *   }
 * }
 * ```
 */
@Injectable()
export class MessagingHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(Messenger) private readonly messenger: Messenger,
    @Inject(OutboxStore) private readonly store: OutboxStore,
    private readonly pause: BusPause,
  ) {}

  /**
   * The health of messaging under `key`: `{ [key]: { status: 'up' | 'down', ...MessagingHealthDetails } }`.
   * A store that cannot be read makes it `down` (never a rejection).
   *
   * @param thresholds when it is down; each field defaults as `MessagingHealthThresholds` says.
   * @throws MessagingOptionsError naming each invalid field of `thresholds` (`thresholds.maxPending: ...`).
   */
  async check<const Key extends string>(
    key: Key,
    thresholds?: MessagingHealthThresholds,
  ): Promise<HealthIndicatorResult<Key, 'up' | 'down', MessagingHealthDetails>> {
    const limits = resolveHealthThresholds(thresholds);
    const messenger = messengerStateOf(this.messenger);
    const outbox = await this.readOutbox(limits.storeTimeoutMs);
    const readings: HealthReadings = {
      now: Date.now(),
      messenger,
      outbox,
      pausedUntil: this.pause.pausedUntil === 0 ? undefined : this.pause.pausedUntil,
    };
    const { up, details } = assessHealth(readings, limits);
    const session = this.health.check(key);
    return up ? session.up(details) : session.down(details);
  }

  private async readOutbox(timeoutMs: number): Promise<HealthReadings['outbox']> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`the store did not answer within storeTimeoutMs (${timeoutMs} ms)`));
      }, timeoutMs);
    });
    try {
      // The oldest pending message first: stores list in acceptance order (an index on SQL stores).
      const read = Promise.all([this.store.counts(), this.store.list({ status: 'pending' }, 1)]);
      const [counts, oldest] = await Promise.race([read, timeout]);
      return { pending: counts.pending, dead: counts.dead, oldestPendingAt: oldest.at(0)?.createdAt };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}
