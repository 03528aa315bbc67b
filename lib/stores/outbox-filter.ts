import type { OutboxFilter } from '../kernel/outbox-admin-store.interface.js';
import type { DeadReason, OutboxStatus } from '../kernel/outbox-entry.interface.js';
import type { SqlParameters } from './sql-parameters.js';

// The filter rule, once, in both forms the stores need: fields combine with AND; `ids: []`
// selects nothing; `key: null` selects messages without ordering; `reason` only dead messages
// with that reason; `before` compares a pending message's storing time and a settled one's
// settling time (its storing time when it has none), strictly.

/** What the filter looks at in a stored message (times in ms since the epoch). */
export interface FilteredState {
  readonly message: { readonly id: string; readonly topic: string; readonly key: string | null };
  readonly status: OutboxStatus;
  readonly deadReason?: DeadReason | undefined;
  readonly createdAt: number;
  readonly settledAt: number | null | undefined;
}

/** The time `OutboxFilter.before` compares: when a pending message was stored, when another was settled. */
export function filterTimeOf(state: FilteredState): number {
  return state.status === 'pending' ? state.createdAt : (state.settledAt ?? state.createdAt);
}

/**
 * A test of whether a stored message matches every field of `filter`; the
 * in-memory form of `outboxFilterSql()`. Build it once per query: it indexes the ids.
 */
export function outboxFilterPredicate(filter: OutboxFilter): (state: FilteredState) => boolean {
  const ids = filter.ids === undefined ? undefined : new Set(filter.ids);
  return (state) => {
    if (filter.status !== undefined && state.status !== filter.status) return false;
    if (ids !== undefined && !ids.has(state.message.id)) return false;
    if (filter.topic !== undefined && state.message.topic !== filter.topic) return false;
    if (filter.key !== undefined && state.message.key !== filter.key) return false;
    if (filter.reason !== undefined && (state.status !== 'dead' || state.deadReason !== filter.reason)) return false;
    return filter.before === undefined || filterTimeOf(state) < filter.before;
  };
}

/** How an SQL database writes what the filter needs. */
export interface OutboxSqlDialect {
  /** A parameter holding ms since the epoch, as the time columns compare (SQLite: the number itself). */
  time(placeholder: string): string;
  /** The condition "`id` is one of `ids`" (never empty), binding what it needs. */
  idIn(ids: readonly string[], parameters: SqlParameters): string;
}

/**
 * `filter` as an SQL condition on the outbox table's columns, its values
 * bound to `parameters`; in-database form of `outboxFilterPredicate()`.
 * `filter.before` must already be in the database's clock.
 */
export function outboxFilterSql(filter: OutboxFilter, dialect: OutboxSqlDialect, parameters: SqlParameters): string {
  const conditions = ['1 = 1'];
  if (filter.status !== undefined) conditions.push(`status = ${parameters.bind(filter.status)}`);
  if (filter.topic !== undefined) conditions.push(`topic = ${parameters.bind(filter.topic)}`);
  if (filter.key === null) conditions.push('ordering_key IS NULL');
  else if (filter.key !== undefined) conditions.push(`ordering_key = ${parameters.bind(filter.key)}`);
  if (filter.reason !== undefined)
    conditions.push(`status = 'dead' AND dead_reason = ${parameters.bind(filter.reason)}`);
  if (filter.ids !== undefined)
    conditions.push(filter.ids.length === 0 ? '1 = 0' : dialect.idIn(filter.ids, parameters));
  if (filter.before !== undefined) {
    conditions.push(
      `(CASE WHEN status = 'pending' THEN created_at ELSE COALESCE(settled_at, created_at) END) < ` +
        dialect.time(parameters.bind(filter.before)),
    );
  }
  return conditions.join(' AND ');
}
