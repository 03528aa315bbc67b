import { Inject, Injectable, Logger } from '@nestjs/common';
import { describeBatch } from '../kernel/batch-description.js';
import type { Message } from '../kernel/message.interface.js';
import type { DeadReason } from '../kernel/outbox-entry.interface.js';
import { LOGGER_CONTEXT, MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import type { DeliveryConfig } from './dispatch-options.interface.js';

interface Retried {
  readonly message: Message;
  readonly attempt: number;
  readonly nextAttemptAt: number;
  readonly reason: string;
}

interface Dead {
  readonly message: Message;
  readonly attempt: number;
  readonly reason: string;
  /** Why it was given up on. Default: `exhausted`. */
  readonly deadReason?: DeadReason;
}

const GAVE_UP: Record<DeadReason, string> = {
  exhausted: 'its attempts ran out',
  rejected: 'rejected: not worth retrying',
  expired: 'its maximum age ran out',
};

/**
 * The outbox's log lines: each failed attempt once (grouped per topic and
 * reason), one line when the bus becomes unreachable and one when it is
 * back, and a periodic summary (every `dispatch.summaryIntervalMs`) while
 * anything is failing, so that an outage never turns into a log storm.
 */
@Injectable()
export class DeliveryLog {
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private readonly summaryIntervalMs: number;
  private unavailableSince: number | undefined;
  private lastReason = '';
  private window = { delivered: 0, failed: 0, dead: 0, refused: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(@Inject(MESSAGING_OPTIONS) config: DeliveryConfig) {
    this.summaryIntervalMs = config.dispatch.summaryIntervalMs;
  }

  /** Counts deliveries for the summary. */
  delivered(count: number): void {
    this.window.delivered += count;
  }

  /** Logs failed attempts that will be retried, one line per reason and attempt number. */
  retrying(retried: readonly Retried[]): void {
    if (retried.length === 0) return;
    this.window.failed += retried.length;
    for (const group of groupBy(retried, ({ reason, attempt }) => `${reason}\0${attempt}`)) {
      const [first] = group;
      this.logger.warn(
        `Delivery of ${describe(group)} failed (attempt ${first.attempt}); next attempt at ` +
          `${new Date(Math.min(...group.map(({ nextAttemptAt }) => nextAttemptAt))).toISOString()}: ${first.reason}`,
      );
    }
    this.ensureSummary();
  }

  /** Logs messages declared dead, as errors. */
  dead(dead: readonly Dead[]): void {
    if (dead.length === 0) return;
    this.window.dead += dead.length;
    for (const group of groupBy(dead, ({ reason, attempt, deadReason }) => `${reason}\0${attempt}\0${deadReason}`)) {
      const [first] = group;
      this.logger.error(
        `Gave up on ${describe(group)} after ${first.attempt} attempt(s) (${GAVE_UP[first.deadReason ?? 'exhausted']}); kept as dead in the outbox ` +
          `(requeue with OutboxAdmin.requeue or "npx nestjs-messaging outbox requeue --id <id>"): ${first.reason}`,
      );
    }
    this.ensureSummary();
  }

  /** Logs that the application's `dispatch.retry.<option>` threw (or gave no delay): its messages were retried on the built-in schedule. */
  hookFailed(option: 'retryIf' | 'backoff', error: unknown): void {
    this.logger.error(
      `dispatch.retry.${option} failed (${error instanceof Error ? error.message : String(error)}); ` +
        'the messages it was asked about are retried on the built-in schedule',
    );
  }

  /** Logs a refusal by the outbox: the first in a summary window in full, the others counted. */
  refused(messages: readonly Message[], reason: string): void {
    const first = this.window.refused === 0;
    this.window.refused += messages.length;
    // The first refusal in a summary window is logged in full; the rest are counted in the summary.
    if (first) this.logger.error(`Refused ${describe(messages)}: ${reason}`);
    this.ensureSummary();
  }

  /**
   * The bus could not be reached; `retryAt` (ms since the epoch) is the next try. When the
   * messenger has already `logged` the reason (at error level), only at debug level.
   */
  unavailable(reason: string, retryAt: number, logged = false): void {
    if (this.unavailableSince === undefined) {
      this.unavailableSince = Date.now();
      this.logger[logged ? 'debug' : 'warn'](
        `The message bus is unreachable (${reason}); messages stay in the outbox, next attempt at ${new Date(retryAt).toISOString()}`,
      );
    } else if (reason !== this.lastReason) {
      this.logger.debug(`The message bus is still unreachable: ${reason}`);
    }
    this.lastReason = reason;
    this.ensureSummary();
  }

  /** The bus took a batch again after being unreachable. */
  available(): void {
    if (this.unavailableSince === undefined) return;
    const seconds = Math.round((Date.now() - this.unavailableSince) / 1000);
    this.unavailableSince = undefined;
    this.logger.log(`The message bus is reachable again after ${seconds} s; sending the messages kept meanwhile`);
  }

  /** The store failed during delivery; leased messages are sent again when their lease runs out. */
  storeFailed(error: unknown): void {
    this.logger.error(
      `The outbox store failed: ${error instanceof Error ? error.message : String(error)}; leased messages are sent again when their lease runs out`,
      error instanceof Error ? error.stack : undefined,
    );
  }

  /** Start-up gave back the leases of an owner the store proved gone. */
  tookOver(count: number, owner: string): void {
    this.logger.warn(
      `Took over ${count} message(s) from ${owner}, which the outbox store shows has ended; sending them again`,
    );
  }

  /** Shutdown left pending messages: kept by a durable store, lost with the memory store. */
  leftovers(count: number, durable: boolean, ids: readonly string[]): void {
    if (durable) {
      this.logger.warn(
        `Shutting down with ${count} message(s) still pending; they stay in the outbox and are sent after the next start`,
      );
    } else {
      const more = count > ids.length ? ` and ${count - ids.length} more` : '';
      this.logger.error(
        `Shutting down with ${count} undelivered message(s) in the memory outbox; they are lost ` +
          `(unless a send still in flight completes): ${ids.join(', ')}${more}`,
      );
    }
  }

  /** Ends the summary timer (at shutdown). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private ensureSummary(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.summarise();
    }, this.summaryIntervalMs);
    this.timer.unref();
  }

  private summarise(): void {
    const { delivered, failed, dead, refused } = this.window;
    this.window = { delivered: 0, failed: 0, dead: 0, refused: 0 };
    const unreachable =
      this.unavailableSince === undefined
        ? ''
        : `; the bus has been unreachable for ${Math.round((Date.now() - this.unavailableSince) / 1000)} s (${this.lastReason})`;
    if (failed + dead + refused === 0 && unreachable === '') {
      this.stop();
      return;
    }
    this.logger.warn(
      `Outbox, last ${Math.round(this.summaryIntervalMs / 1000)} s: ${delivered} delivered, ${failed} failed attempt(s), ` +
        `${dead} dead, ${refused} refused${unreachable}`,
    );
  }
}

function describe(items: readonly ({ message: Message } | Message)[]): string {
  return describeBatch(items.map((item) => ('message' in item ? item.message : item)));
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = key(item);
    const group = groups.get(name);
    if (group === undefined) groups.set(name, [item]);
    else group.push(item);
  }
  return [...groups.values()];
}
