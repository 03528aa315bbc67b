import type { OutboxFilter } from './outbox-admin-store.interface.js';
import type { DeadReason, OutboxStatus } from './outbox-entry.interface.js';
import { MessagingError } from './messaging.errors.js';

// What operators select messages by (OutboxAdmin, `npx nestjs-messaging outbox`), the rule that an
// empty selection is refused for bulk changes, and its translation to a store's `OutboxFilter`.

/**
 * Which messages an operator's command selects. Fields combine with AND; an absent field selects
 * everything. `ids`, `topic`, `key`, `reason` and `olderThanMs` (above 0) are the **selecting**
 * fields: `requeue` and `purge` refuse a selection without any of them unless `all: true`.
 */
export interface OutboxSelection {
  /** Only these messages; an empty list selects none. */
  readonly ids?: readonly string[];
  readonly topic?: string;
  /** Only messages of this ordering key (`Message.key`); `null`: only those sent without ordering. */
  readonly key?: string | null;
  /** Only dead messages that died for this reason. */
  readonly reason?: DeadReason;
  /**
   * Only messages stored (pending ones) or settled (delivered and dead ones) at least this long
   * ago, in ms. `0` (the default) selects them all and does not count as a selecting field.
   */
  readonly olderThanMs?: number;
}

/** Which messages `OutboxAdmin.list()` shows: a selection, and a status. */
export interface OutboxListFilter extends OutboxSelection {
  /** Only messages in this state. Default for `OutboxAdmin.list()`: `pending`. */
  readonly status?: OutboxStatus;
  /** Only those stored or settled strictly before this time, in ms since the epoch (as `OutboxFilter.before`). */
  readonly before?: number;
}

/** Which dead messages `OutboxAdmin.requeue()` makes pending again. */
export interface OutboxRequeueFilter extends OutboxSelection {
  /** Allows a selection without selecting fields: every dead message (narrowed by any field given). Default: `false`. */
  readonly all?: boolean;
}

/** Which settled messages `OutboxAdmin.purge()` deletes (never pending ones). */
export interface OutboxPurgeFilter extends OutboxSelection {
  /** `delivered` or `dead`; both when omitted. Narrows, but is not a selecting field. */
  readonly status?: 'delivered' | 'dead';
  /** Allows a selection without selecting fields: every settled message (narrowed by `status`). Default: `false`. */
  readonly all?: boolean;
}

/**
 * `OutboxAdmin.requeue()`/`purge()` or the `requeue`/`purge` command was given no selecting
 * field (ids, topic, key, reason, a positive age) and not `all: true` (`--all`): it would change
 * every dead (or settled) message, which an empty form or a forgotten flag must not do. Nothing
 * was changed. Over HTTP Nest answers 400 with this message (it carries `statusCode` 400).
 */
export class EmptyOutboxFilterError extends MessagingError {
  /** HTTP status for Nest's exception filter: `400`. */
  readonly statusCode = 400;
  /** The same, as `http-errors` spells it. */
  readonly status = 400;
  /** The message names only the operation and its fields: fine for the caller. */
  readonly expose = true;

  constructor(
    /** The operation refused. */
    readonly operation: 'requeue' | 'purge',
  ) {
    super(
      `${operation}: the filter selects no messages in particular (none of ids, topic, key, reason, olderThanMs > 0), ` +
        `so it would ${operation} every ${operation === 'requeue' ? 'dead' : 'settled'} message; ` +
        `nothing was changed. Give a filter, or { all: true } (--all) to ${operation} them all.`,
    );
  }
}

/** Whether `selection` has a selecting field (see `OutboxSelection`). */
export function isSelective(selection: OutboxSelection): boolean {
  return (
    selection.ids !== undefined ||
    selection.topic !== undefined ||
    selection.key !== undefined ||
    selection.reason !== undefined ||
    (selection.olderThanMs ?? 0) > 0
  );
}

/**
 * `selection` as a store's `OutboxFilter`, its age measured back from `now` (ms since the epoch).
 * @throws EmptyOutboxFilterError for `requeue`/`purge` when it has no selecting field and not `all: true`.
 * @throws RangeError when `olderThanMs` is not a finite number >= 0.
 */
export function toOutboxFilter(
  selection: OutboxSelection & { readonly status?: OutboxStatus; readonly before?: number; readonly all?: boolean },
  now: number,
  operation?: 'requeue' | 'purge',
): OutboxFilter {
  const { olderThanMs = 0 } = selection;
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0)
    throw new RangeError(`olderThanMs: expected a number of ms >= 0, got ${String(olderThanMs)}`);
  if (operation !== undefined && selection.all !== true && !isSelective(selection))
    throw new EmptyOutboxFilterError(operation);
  const ageBefore = olderThanMs > 0 || operation === 'purge' ? now - olderThanMs : undefined;
  const before =
    ageBefore === undefined ? selection.before : Math.min(ageBefore, selection.before ?? Number.POSITIVE_INFINITY);
  return {
    ...(selection.status === undefined ? {} : { status: selection.status }),
    ...(selection.ids === undefined ? {} : { ids: selection.ids }),
    ...(selection.topic === undefined ? {} : { topic: selection.topic }),
    ...(selection.key === undefined ? {} : { key: selection.key }),
    ...(selection.reason === undefined ? {} : { reason: selection.reason }),
    ...(before === undefined ? {} : { before }),
  };
}
