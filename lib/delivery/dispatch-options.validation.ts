import type { BackoffOptions, DispatchConfig, DispatchOptions } from './dispatch-options.interface.js';

const DEFAULT_LEASE_MS = 60_000;

type Check = [key: string, min: number, integer: boolean];

const DISPATCH_CHECKS: Check[] = [
  ['batchSize', 1, true],
  ['batchWindowMs', 0, true],
  ['leaseMs', 1, true],
  ['sendTimeoutMs', 1, true],
  ['pollIntervalMs', 1, true],
  ['busProbeIntervalMs', 1, true],
  ['retainDeliveredMs', 0, true],
  ['awaitTimeoutMs', 0, true],
  ['summaryIntervalMs', 1, true],
];
const BACKOFF_CHECKS: Check[] = [
  ['initialDelayMs', 0, true],
  ['multiplier', 1, false],
  ['maxDelayMs', 0, true],
];
const RETRY_CHECKS: Check[] = [...BACKOFF_CHECKS, ['maxAttempts', 1, true], ['maxAgeMs', 0, true]];
const SCHEDULE_KEYS = ['initialDelayMs', 'multiplier', 'maxDelayMs', 'jitter'] as const;

/** Appends a `path: message` issue for every invalid dispatch option. */
export function checkDispatchOptions(value: unknown, issues: string[]): void {
  if (value === undefined) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    issues.push(`dispatch: expected an object, got ${JSON.stringify(value)}`);
    return;
  }
  const dispatch = value as Record<string, unknown>;
  checkFields('dispatch', dispatch, DISPATCH_CHECKS, ['retry', 'ordering'], issues);
  checkSendTimeout(dispatch, issues);
  checkOrdering(dispatch.ordering, issues);
  const { retry } = dispatch;
  if (retry === undefined) return;
  if (retry === null || typeof retry !== 'object' || Array.isArray(retry)) {
    issues.push(`dispatch.retry: expected an object, got ${JSON.stringify(retry)}`);
    return;
  }
  const fields = retry as Record<string, unknown>;
  checkFields('dispatch.retry', fields, RETRY_CHECKS, ['jitter', 'backoff', 'retryIf'], issues);
  checkJitter('dispatch.retry', fields.jitter, issues);
  const { backoff, retryIf } = fields;
  if (retryIf !== undefined && typeof retryIf !== 'function')
    issues.push(
      `dispatch.retry.retryIf: expected a function (error, attempt, message) => boolean, got ${describe(retryIf)}`,
    );
  checkBackoff(fields, backoff, issues);
}

function checkJitter(path: string, jitter: unknown, issues: string[]): void {
  if (jitter !== undefined && (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)))
    issues.push(`${path}.jitter: expected a number from 0 to 1, got ${JSON.stringify(jitter)}`);
}

/** `backoff`: a function, or the schedule's fields given there instead of beside it. */
function checkBackoff(retry: Record<string, unknown>, backoff: unknown, issues: string[]): void {
  if (backoff === undefined) return;
  const given = SCHEDULE_KEYS.filter((key) => retry[key] !== undefined);
  if (typeof backoff === 'function') {
    for (const key of given.filter((name) => name !== 'initialDelayMs')) {
      issues.push(`dispatch.retry.${key}: has no effect with a dispatch.retry.backoff function; remove it`);
    }
    return;
  }
  if (backoff === null || typeof backoff !== 'object' || Array.isArray(backoff)) {
    issues.push(
      `dispatch.retry.backoff: expected an object (initialDelayMs, multiplier, maxDelayMs, jitter) or a function (attempt, error, message) => ms, got ${describe(backoff)}`,
    );
    return;
  }
  const fields = backoff as Record<string, unknown>;
  checkFields('dispatch.retry.backoff', fields, BACKOFF_CHECKS, ['jitter'], issues);
  checkJitter('dispatch.retry.backoff', fields.jitter, issues);
  for (const key of given) {
    issues.push(`dispatch.retry.${key}: give the schedule either beside dispatch.retry.backoff or in it, not both`);
  }
}

function describe(value: unknown): string {
  return typeof value === 'function' ? 'a function' : JSON.stringify(value);
}

function checkOrdering(ordering: unknown, issues: string[]): void {
  if (ordering === undefined) return;
  if (ordering === null || typeof ordering !== 'object' || Array.isArray(ordering)) {
    issues.push(`dispatch.ordering: expected an object, got ${JSON.stringify(ordering)}`);
    return;
  }
  for (const key of Object.keys(ordering))
    if (key !== 'onFailure') issues.push(`dispatch.ordering.${key}: unknown option (known: onFailure)`);
  const { onFailure } = ordering as { onFailure?: unknown };
  if (onFailure === undefined || onFailure === 'step-aside' || onFailure === 'hold' || typeof onFailure === 'function')
    return;
  issues.push(
    `dispatch.ordering.onFailure: expected 'step-aside', 'hold' or a function of the key returning one, got ${JSON.stringify(onFailure)}`,
  );
}

/** `sendTimeoutMs` must end an attempt while the lease still holds. */
function checkSendTimeout(dispatch: Record<string, unknown>, issues: string[]): void {
  const { leaseMs = DEFAULT_LEASE_MS, sendTimeoutMs } = dispatch;
  if (!isWholeNumber(leaseMs, 1) || !isWholeNumber(sendTimeoutMs, 1) || sendTimeoutMs < leaseMs) return;
  issues.push(
    `dispatch.sendTimeoutMs: must be less than dispatch.leaseMs (${leaseMs}${dispatch.leaseMs === undefined ? ', the default' : ''}), ` +
      `got ${sendTimeoutMs}: a send still running when the lease ends may be claimed and sent again by another instance`,
  );
}

function isWholeNumber(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min;
}

function checkFields(
  path: string,
  record: Record<string, unknown>,
  checks: Check[],
  otherKeys: string[],
  issues: string[],
): void {
  const known = [...checks.map(([key]) => key), ...otherKeys];
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) issues.push(`${path}.${key}: unknown option (known: ${known.join(', ')})`);
  }
  for (const [key, min, integer] of checks) {
    const field = record[key];
    if (field === undefined) continue;
    if (typeof field !== 'number' || !Number.isFinite(field) || field < min || (integer && !Number.isInteger(field))) {
      issues.push(
        `${path}.${key}: expected a ${integer ? 'whole ' : ''}number >= ${min}, got ${JSON.stringify(field)}`,
      );
    }
  }
}

/** Applies the documented defaults to validated dispatch options. */
export function resolveDispatchConfig(options: DispatchOptions = {}): DispatchConfig {
  const retry = options.retry ?? {};
  const { backoff } = retry;
  const schedule: BackoffOptions = typeof backoff === 'object' ? backoff : retry;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  return {
    batchSize: options.batchSize ?? 200,
    batchWindowMs: options.batchWindowMs,
    leaseMs,
    // Three quarters: room for the messenger's own timeout (AmqpMessenger: 30 s) to fire first, and for
    // the settle after it, inside the lease.
    sendTimeoutMs: options.sendTimeoutMs ?? Math.floor((leaseMs * 3) / 4),
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    busProbeIntervalMs: options.busProbeIntervalMs ?? 5000,
    retainDeliveredMs: options.retainDeliveredMs ?? 0,
    awaitTimeoutMs: options.awaitTimeoutMs ?? 30_000,
    summaryIntervalMs: options.summaryIntervalMs ?? 60_000,
    ordering: { onFailure: options.ordering?.onFailure ?? 'step-aside' },
    retry: {
      // With a backoff function, initialDelayMs still starts the waits while the bus is unreachable.
      initialDelayMs: schedule.initialDelayMs ?? retry.initialDelayMs ?? 1000,
      multiplier: schedule.multiplier ?? 2,
      maxDelayMs: schedule.maxDelayMs ?? 300_000,
      jitter: schedule.jitter ?? 0.5,
      maxAttempts: retry.maxAttempts ?? 20,
      maxAgeMs: retry.maxAgeMs ?? 86_400_000,
      backoff: typeof backoff === 'function' ? backoff : undefined,
      retryIf: retry.retryIf,
    },
  };
}
