import type { MessengerState, MessengerStatus } from '../kernel/messenger-state.js';
import type { ResolvedHealthThresholds } from './health.thresholds.js';

/** What the indicator read, at `now` (ms since the epoch). */
export interface HealthReadings {
  readonly now: number;
  /** The messenger's state; `undefined` when it reports none. */
  readonly messenger: MessengerState | undefined;
  /** The store's counts and oldest pending message, or why they could not be read. */
  readonly outbox:
    | { readonly pending: number; readonly dead: number; readonly oldestPendingAt: number | undefined }
    | { readonly error: string };
  /** Until when delivery pauses (ms since the epoch); `undefined` when it does not. */
  readonly pausedUntil: number | undefined;
}

/**
 * What `MessagingHealthIndicator.check()` reports under its key, besides `status`. Times are
 * ISO 8601 strings, ages in ms.
 */
// A type, not an interface: Terminus takes details as a Record<string, unknown>.
export type MessagingHealthDetails = {
  /** The messenger's state; absent for a messenger that reports none (counted as up). */
  readonly messenger?: {
    readonly status: MessengerStatus;
    /** Why it is not connected: the broker's reason when it refused (wrong password, say). */
    readonly reason?: string;
    /** The broker's condition, such as `amqp:unauthorized-access`. */
    readonly condition?: string;
    readonly url?: string;
    /** When the status last changed (ISO 8601). */
    readonly since: string;
  };
  /** The outbox now; `error` when the store could not be read (then down). */
  readonly outbox:
    | {
        readonly pending: number;
        /** Age of the oldest pending message, in ms; `0` when none is pending. */
        readonly oldestPendingAgeMs: number;
        readonly dead: number;
      }
    | { readonly error: string };
  readonly delivery: {
    /** Whether delivery pauses because an attempt found the bus unreachable. */
    readonly paused: boolean;
    /** Until when (ISO 8601), when paused. */
    readonly pausedUntil?: string;
  };
  /** Why it is down, one sentence per threshold crossed; `[]` when up. */
  readonly problems: readonly string[];
};

/** Judges `readings` by `thresholds`: up when no problem is found. */
export function assessHealth(
  readings: HealthReadings,
  thresholds: ResolvedHealthThresholds,
): { readonly up: boolean; readonly details: MessagingHealthDetails } {
  const problems: string[] = [];
  const { now, messenger, outbox, pausedUntil } = readings;
  if (messenger !== undefined && thresholds.downStatuses.includes(messenger.status)) {
    const condition = messenger.condition === undefined ? '' : ` (${messenger.condition})`;
    problems.push(
      `messenger ${messenger.status}${condition}${messenger.reason === undefined ? '' : `: ${messenger.reason}`}`,
    );
  }
  let outboxDetails: MessagingHealthDetails['outbox'];
  if ('error' in outbox) {
    problems.push(`the outbox store could not be read: ${outbox.error}`);
    outboxDetails = outbox;
  } else {
    const oldestPendingAgeMs = outbox.oldestPendingAt === undefined ? 0 : Math.max(0, now - outbox.oldestPendingAt);
    if (outbox.pending > thresholds.maxPending)
      problems.push(`${outbox.pending} messages pending, more than maxPending (${thresholds.maxPending})`);
    if (oldestPendingAgeMs > thresholds.maxOldestPendingMs)
      problems.push(
        `the oldest pending message is ${oldestPendingAgeMs} ms old, more than maxOldestPendingMs (${thresholds.maxOldestPendingMs})`,
      );
    if (outbox.dead > thresholds.maxDead)
      problems.push(`${outbox.dead} dead messages, more than maxDead (${thresholds.maxDead})`);
    outboxDetails = { pending: outbox.pending, oldestPendingAgeMs, dead: outbox.dead };
  }
  const paused = pausedUntil !== undefined && now < pausedUntil;
  if (paused && thresholds.downWhenPaused)
    problems.push(`delivery is paused until ${new Date(pausedUntil).toISOString()}: the bus was found unreachable`);
  const details: MessagingHealthDetails = {
    ...(messenger === undefined ? {} : { messenger: messengerDetails(messenger) }),
    outbox: outboxDetails,
    delivery: paused ? { paused, pausedUntil: new Date(pausedUntil).toISOString() } : { paused },
    problems,
  };
  return { up: problems.length === 0, details };
}

function messengerDetails(state: MessengerState): NonNullable<MessagingHealthDetails['messenger']> {
  const { status, reason, condition, url, since } = state;
  return {
    status,
    ...(reason === undefined ? {} : { reason }),
    ...(condition === undefined ? {} : { condition }),
    ...(url === undefined ? {} : { url }),
    since: since.toISOString(),
  };
}
