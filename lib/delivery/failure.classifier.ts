import type { DeadReason, OutboxEntry } from '../kernel/outbox-entry.interface.js';
import type { RetryConfig } from './dispatch-options.interface.js';
import { retryDelayMs } from './retry-schedule.js';
import type { UnsentMessage } from './send-outcome.js';

/** What becomes of one message a `send()` did not get onto the bus. */
export type FailureVerdict =
  /** Not its fault (the bus was unreachable, another message ended the link): not counted, due again at `nextAttemptAt`. */
  | { readonly kind: 'back-in-line'; readonly attempts: number; readonly nextAttemptAt: number }
  /** Counted as attempt number `attempt`, tried again at `nextAttemptAt`. */
  | { readonly kind: 'retry'; readonly attempt: number; readonly nextAttemptAt: number }
  /** Counted as attempt number `attempt`, and given up on. */
  | { readonly kind: 'dead'; readonly attempt: number; readonly reason: DeadReason };

/**
 * Classifies the failures of one batch, in this order: a failure the
 * messenger marked non-retryable (`NonRetryableMessageError`,
 * `retryable: false`) is dead at once (`rejected`); an uncounted one (the bus
 * unreachable) goes back in line, never classified further; a counted one is
 * `rejected` when `retryIf` says `false`, `exhausted` after `maxAttempts`,
 * `expired` after `maxAgeMs`, else retried after the backoff (the
 * application's function, or the built-in schedule), no sooner than the
 * messenger's `retryAt`. A hook that throws (or a backoff that returns no
 * delay) falls back to retrying on the built-in schedule; `hookErrors` says
 * which, once per batch.
 */
export class FailureClassifier {
  /** Per option (`retryIf`, `backoff`), the first error it caused in this batch. */
  readonly hookErrors = new Map<'retryIf' | 'backoff', unknown>();

  constructor(
    private readonly retry: RetryConfig,
    /** What `send()` threw. */
    private readonly error: unknown,
    private readonly now: number,
    private readonly random: () => number = Math.random,
  ) {}

  classify(unsent: UnsentMessage, entry: OutboxEntry): FailureVerdict {
    const { now, retry } = this;
    const attempt = entry.attempts + 1;
    if (unsent.retryable === false) return { kind: 'dead', attempt, reason: 'rejected' };
    if (!unsent.counted) {
      // The messenger may say when (an address the bus refuses until an operator acts): not at once.
      return { kind: 'back-in-line', attempts: entry.attempts, nextAttemptAt: Math.max(now, unsent.retryAt ?? now) };
    }
    if (!this.worthRetrying(attempt, unsent)) return { kind: 'dead', attempt, reason: 'rejected' };
    if (attempt >= retry.maxAttempts) return { kind: 'dead', attempt, reason: 'exhausted' };
    if (now - entry.createdAt >= retry.maxAgeMs) return { kind: 'dead', attempt, reason: 'expired' };
    const scheduled = now + this.delayMs(attempt, unsent);
    const nextAttemptAt = unsent.retryAt === undefined ? scheduled : Math.max(scheduled, unsent.retryAt);
    return { kind: 'retry', attempt, nextAttemptAt };
  }

  private worthRetrying(attempt: number, { message }: UnsentMessage): boolean {
    const { retryIf } = this.retry;
    if (retryIf === undefined) return true;
    try {
      // Only an explicit false gives up: a JavaScript hook returning nothing retries.
      const verdict: unknown = retryIf(this.error, attempt, message);
      return verdict !== false;
    } catch (error) {
      this.noteHookError('retryIf', error);
      return true;
    }
  }

  private delayMs(attempt: number, { message }: UnsentMessage): number {
    const { backoff } = this.retry;
    if (backoff !== undefined) {
      try {
        const delay = backoff(attempt, this.error, message);
        if (typeof delay === 'number' && Number.isFinite(delay) && delay >= 0) return Math.round(delay);
        this.noteHookError('backoff', new TypeError(`returned ${String(delay)}, not a finite number of ms >= 0`));
      } catch (error) {
        this.noteHookError('backoff', error);
      }
    }
    return retryDelayMs(this.retry, attempt, this.random);
  }

  private noteHookError(option: 'retryIf' | 'backoff', error: unknown): void {
    if (!this.hookErrors.has(option)) this.hookErrors.set(option, error);
  }
}
