import { MessagingOptionsError } from '../kernel/messaging.errors.js';
import type { MessengerStatus } from '../kernel/messenger-state.js';

/**
 * When `MessagingHealthIndicator.check()` reports `down`. Every field is
 * optional; see {@link DEFAULT_HEALTH_THRESHOLDS} for the defaults and why.
 */
export interface MessagingHealthThresholds {
  /**
   * Messenger statuses that are `down`. Default: `['reconnecting', 'refused', 'stopped']`:
   * `starting` (the first connection being opened, a few seconds at start-up) is up, since
   * requests are served and their messages wait in the outbox. A messenger that reports no
   * state (`LoggingMessenger`, your own) is up.
   */
  readonly downStatuses?: readonly MessengerStatus[];
  /** More pending messages than this (a whole number >= 0) is down. Default: `10000`. */
  readonly maxPending?: number;
  /** A pending message older than this, in ms (>= 0), is down. Default: `300000` (5 minutes). */
  readonly maxOldestPendingMs?: number;
  /**
   * More dead messages than this (>= 0, `Infinity` allowed) is down. Default: `Infinity`
   * (reported, never down): a dead message needs an operator (`OutboxAdmin.requeue`), not a
   * restart, and would keep a readiness probe failing for good. Set `0` on an endpoint that alerts.
   */
  readonly maxDead?: number;
  /** Whether a delivery pause (the bus found unreachable by an attempt) is down. Default: `true`. */
  readonly downWhenPaused?: boolean;
  /**
   * How long the store has to answer, in ms (> 0); a store that does not answer in time (a
   * pool with no free connection, a lock held) is down, and the probe gets its answer instead
   * of hanging. Default: `2000`.
   */
  readonly storeTimeoutMs?: number;
}

/** {@link MessagingHealthThresholds} with every default applied. */
export type ResolvedHealthThresholds = Required<MessagingHealthThresholds>;

/**
 * The defaults. `maxPending` 10,000 is the `MemoryOutboxStore`'s default capacity: beyond it
 * that store refuses requests. `maxOldestPendingMs` 5 minutes: a message that
 * old has failed about nine attempts with the default retry delays (1 s, doubling), or the bus
 * has been away that long.
 */
export const DEFAULT_HEALTH_THRESHOLDS: ResolvedHealthThresholds = Object.freeze({
  downStatuses: Object.freeze(['reconnecting', 'refused', 'stopped'] as const),
  maxPending: 10_000,
  maxOldestPendingMs: 300_000,
  maxDead: Number.POSITIVE_INFINITY,
  downWhenPaused: true,
  storeTimeoutMs: 2000,
});

const STATUSES: readonly MessengerStatus[] = ['starting', 'connected', 'reconnecting', 'refused', 'stopped'];
const NUMBERS = ['maxPending', 'maxOldestPendingMs', 'maxDead'] as const;
const KNOWN = ['downStatuses', ...NUMBERS, 'downWhenPaused', 'storeTimeoutMs'];

/**
 * The thresholds with defaults applied.
 * @throws MessagingOptionsError naming each invalid field (`thresholds.maxPending: ...`).
 */
export function resolveHealthThresholds(thresholds: MessagingHealthThresholds | undefined): ResolvedHealthThresholds {
  if (thresholds === undefined) return DEFAULT_HEALTH_THRESHOLDS;
  const issues: string[] = [];
  // Callers in plain JavaScript may pass anything.
  const raw: unknown = thresholds;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new MessagingOptionsError(
      [`thresholds: expected an object, got ${JSON.stringify(raw)}`],
      'MessagingHealthIndicator thresholds',
    );
  }
  const given = thresholds as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!KNOWN.includes(key)) issues.push(`thresholds.${key}: unknown option (known: ${KNOWN.join(', ')})`);
  }
  for (const key of NUMBERS) {
    const value = given[key];
    const whole = key === 'maxPending';
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (whole && !Number.isInteger(value)))
      issues.push(
        `thresholds.${key}: expected ${whole ? 'a whole number' : 'a number'} >= 0, got ${JSON.stringify(value)}`,
      );
  }
  const { downStatuses, downWhenPaused, storeTimeoutMs } = given;
  if (
    storeTimeoutMs !== undefined &&
    (typeof storeTimeoutMs !== 'number' || !Number.isFinite(storeTimeoutMs) || storeTimeoutMs <= 0)
  )
    issues.push(`thresholds.storeTimeoutMs: expected a number > 0, got ${JSON.stringify(storeTimeoutMs)}`);
  if (
    downStatuses !== undefined &&
    (!Array.isArray(downStatuses) || downStatuses.some((status) => !STATUSES.includes(status as MessengerStatus)))
  )
    issues.push(
      `thresholds.downStatuses: expected a list of ${STATUSES.join(', ')}; got ${JSON.stringify(downStatuses)}`,
    );
  if (downWhenPaused !== undefined && typeof downWhenPaused !== 'boolean')
    issues.push(`thresholds.downWhenPaused: expected true or false, got ${JSON.stringify(downWhenPaused)}`);
  if (issues.length > 0) throw new MessagingOptionsError(issues, 'MessagingHealthIndicator thresholds');
  // A field given as undefined keeps its default.
  const set = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
  return { ...DEFAULT_HEALTH_THRESHOLDS, ...set };
}
