import type { BackoffOptions, RetryConfig } from './dispatch-options.interface.js';

/**
 * The delay before attempt `attempts + 1`, after `attempts` failed ones:
 * exponential, capped, with part of it random ("equal jitter").
 */
export function retryDelayMs(
  retry: Required<BackoffOptions>,
  attempts: number,
  random: () => number = Math.random,
): number {
  const exponential = retry.initialDelayMs * retry.multiplier ** Math.max(0, attempts - 1);
  const capped = Math.min(retry.maxDelayMs, exponential);
  return Math.round(capped * (1 - retry.jitter * random()));
}

/** With the built-in schedule, when to try again after a failed attempt, or `undefined` once the message has used up its attempts or age. */
export function nextAttemptAt(
  retry: RetryConfig,
  attempts: number,
  createdAt: number,
  now: number,
  random?: () => number,
): number | undefined {
  if (attempts >= retry.maxAttempts || now - createdAt >= retry.maxAgeMs) return undefined;
  return now + retryDelayMs(retry, attempts, random);
}
