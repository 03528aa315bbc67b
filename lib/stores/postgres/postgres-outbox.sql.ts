import type { OutboxEntry } from '../../kernel/outbox-entry.interface.js';
import { outboxRowToEntry, type OutboxRow } from '../outbox-entry.mapper.js';
import type { OutboxSqlDialect } from '../outbox-filter.js';
import type { PostgresClock } from './postgres-clock.js';

// SQL pieces the PostgreSQL store's queries share: times are timestamptz columns, read and
// written as ms since the epoch in the database's clock.

/** Advisory lock sub-key (next to the table's hash) that makes claims take turns. (0 guards schema creation.) */
export const CLAIM_LOCK = 1;
/** Advisory lock sub-key (next to the table's hash) held by the retention purge running now. */
export const PURGE_LOCK = 2;

/**
 * The transaction-scoped advisory locks of the ordering keys in `rows` (a relation with a
 * `key` column, such as an earlier common table expression), as a common table expression
 * `ordering_locks` of one row: every distinct lock taken in ascending order, in one statement,
 * so that writers with several keys never wait for each other in a cycle. The lock of a key
 * is `(hashtext('<table> ordering keys'), hashtext(key))` in the two-int4 key space: two keys
 * whose hashes collide share a lock (they then wait for each other's commit, no more).
 * Writers of a key thereby take turns from the insert to the commit, so the key's sequence
 * numbers follow commit order.
 */
export const orderingLocksCte = (table: string, rows: string): string => `ordering_locks AS MATERIALIZED (
    SELECT count(pg_advisory_xact_lock(hashtext('${table} ordering keys'), k.lock)) AS taken
    FROM (SELECT DISTINCT hashtext(r.key) AS lock FROM ${rows} r WHERE r.key IS NOT NULL ORDER BY 1) k)`;

/** PostgreSQL's longest identifier, in bytes (`NAMEDATALEN - 1`): longer names are cut to it. */
const MAX_IDENTIFIER = 63;

/**
 * The name of schema version 4's append function of `table` (a checked name, optionally
 * `schema.table`): `<table>_append`, in the table's schema when qualified, so it resolves as the
 * table does. A table name too long for the suffix keeps its first 46 characters, then an
 * 8-digit FNV-1a hash of the whole name: PostgreSQL would cut the name to 63 bytes (with a
 * notice at every call), and two tables could then share one function, which inserts into one
 * of them.
 */
export function appendFunctionName(table: string): string {
  const dot = table.indexOf('.');
  const schema = dot < 0 ? '' : table.slice(0, dot + 1);
  const name = table.slice(dot + 1);
  const suffix = '_append';
  if (name.length + suffix.length <= MAX_IDENTIFIER) return `${schema}${name}${suffix}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return `${schema}${name.slice(0, 46)}_${(hash >>> 0).toString(16).padStart(8, '0')}${suffix}`;
}

/**
 * The key of a lease owner's session-level advisory lock, as SQL: a 64-bit hash of the table
 * and the owner id (`owner`, an SQL expression), in the one-bigint key space, which never
 * meets the two-int4 keys above.
 */
export const ownerLockKey = (table: string, owner: string): string => `hashtextextended('${table} ' || ${owner}, 0)`;

/** An outbox row as `OUTBOX_COLUMNS` selects it (`sequence` is a bigint, which pg reads as text). */
export interface PostgresOutboxRow extends OutboxRow {
  sequence: string;
}

/** A time column as ms since the epoch (float8: pg parses it to a number). */
export const ms = (column: string): string => `(extract(epoch from ${column}) * 1000)::float8`;

/** A parameter or expression in ms since the epoch as a timestamp. */
export const at = (parameter: string): string => `to_timestamp(${parameter}::float8 / 1000)`;

/** The columns of a `PostgresOutboxRow`. */
export const OUTBOX_COLUMNS = `sequence, id, topic, ordering_key, body::text AS body, headers::text AS headers, "timestamp"::float8 AS "timestamp",
  ${ms('created_at')} AS created_at, status, attempts, ${ms('next_attempt_at')} AS next_attempt_at, last_error,
  dead_reason, attempt_history::text AS attempt_history,
  ${ms('settled_at')} AS settled_at, lease_owner, ${ms('lease_expires_at')} AS lease_expires_at`;

/** How the shared filter rule (outbox-filter.ts) is written for PostgreSQL: one array parameter for the ids. */
export const POSTGRES_FILTER_DIALECT: OutboxSqlDialect = {
  time: at,
  idIn: (ids, parameters) => `id = ANY(${parameters.bind(ids)}::text[])`,
};

/** A row as an entry, its times in this process's clock (whole ms). */
export function postgresRowToEntry(row: PostgresOutboxRow, clock: PostgresClock): OutboxEntry {
  return outboxRowToEntry(row, (databaseMs) => Math.round(clock.toLocal(databaseMs)));
}
