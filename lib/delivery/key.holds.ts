import type { FailedAttempt, OutboxEntry } from '../kernel/outbox-store.interface.js';
import type { OnKeyFailure, OrderingOptions } from './dispatch-options.interface.js';

/** Whether a failed message of `key` holds its key (`dispatch.ordering.onFailure`); see `OnKeyFailure`. */
export function holdsKeyOnFailure(ordering: Required<OrderingOptions>, key: string): boolean {
  const { onFailure } = ordering;
  if (typeof onFailure !== 'function') return onFailure === 'hold';
  let choice: OnKeyFailure | undefined;
  try {
    choice = onFailure(key);
  } catch {
    // Documented: a throwing choice counts as the default.
    choice = undefined;
  }
  return choice === 'hold';
}

/**
 * `failures` with `holdsKey` set on those kept for a retry whose key holds
 * (`dispatch.ordering.onFailure: 'hold'`); the keys that now hold are added to
 * `backInLine`, so that the worker gives back its later messages of them.
 */
export function markKeyHolds(
  ordering: Required<OrderingOptions>,
  failures: readonly FailedAttempt[],
  entries: ReadonlyMap<string, OutboxEntry>,
  backInLine: Set<string>,
): FailedAttempt[] {
  if (ordering.onFailure === 'step-aside') return [...failures];
  const decided = new Map<string, boolean>();
  return failures.map((failure) => {
    const key = entries.get(failure.id)?.message.key ?? null;
    if (key === null || failure.nextAttemptAt === undefined) return failure;
    let holds = decided.get(key);
    if (holds === undefined) {
      holds = holdsKeyOnFailure(ordering, key);
      decided.set(key, holds);
    }
    if (!holds) return failure;
    backInLine.add(key);
    return { ...failure, holdsKey: true };
  });
}
