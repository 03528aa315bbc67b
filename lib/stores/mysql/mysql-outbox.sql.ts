import { crc32 } from 'node:zlib';
import type { OutboxEntry } from '../../kernel/outbox-entry.interface.js';
import type { DatabaseClock } from '../database-clock.js';
import { outboxRowToEntry, type OutboxRow } from '../outbox-entry.mapper.js';
import type { OutboxSqlDialect } from '../outbox-filter.js';
import { MYSQL_KEY_LOCK_BUCKETS, mysqlKeyLockTable } from './mysql-outbox.schema.js';

// SQL pieces the MySQL store's queries share: times are DATETIME(3) columns in UTC, read and
// written as ms since the epoch in the database's clock, with no session time zone involved.

/** The database's clock, now: the statement's start, in UTC. */
export const NOW = 'UTC_TIMESTAMP(3)';

const EPOCH = "TIMESTAMP'1970-01-01 00:00:00'";

/** A time column (or expression) as ms since the epoch (a BIGINT). */
export const ms = (column: string): string => `(TIMESTAMPDIFF(MICROSECOND, ${EPOCH}, ${column}) DIV 1000)`;

/** A parameter or expression in ms since the epoch as a UTC DATETIME. */
export const at = (parameter: string): string => `TIMESTAMPADD(MICROSECOND, ROUND(${parameter}) * 1000, ${EPOCH})`;

/** `ms` milliseconds after the database's clock now. */
export const fromNow = (parameter: string): string => `TIMESTAMPADD(MICROSECOND, ROUND(${parameter}) * 1000, ${NOW})`;

/**
 * The lock row (`bucket` of `<table>_key_locks`) of an ordering key: `CRC32(key) mod 4096` over
 * its UTF-8 bytes, the same as MySQL's `CRC32()` on a utf8mb4 string.
 */
export const mysqlKeyLockBucket = (key: string): number => crc32(key) % MYSQL_KEY_LOCK_BUCKETS;

/**
 * A scalar subquery that locks the lock rows of `keys` (`FOR UPDATE`, held until the
 * transaction ends) and returns their count (never negative), or `undefined` when there is no
 * key (`null` keys take no lock). The rows are distinct and in ascending order, the order InnoDB
 * locks them in by the primary key, so writers of several keys never wait for each other in a
 * cycle. Put in the first row of an `INSERT ... VALUES`, it is evaluated before any row draws
 * its `AUTO_INCREMENT` sequence: writers of a key take turns from the insert to the commit, and
 * the key's sequence follows commit order.
 */
export function keyLocksSubquery(table: string, keys: readonly (string | null)[]): string | undefined {
  const buckets = [...new Set(keys.flatMap((key) => (key === null ? [] : [mysqlKeyLockBucket(key)])))];
  if (buckets.length === 0) return undefined;
  buckets.sort((a, b) => a - b);
  return `(SELECT COUNT(*) FROM ${mysqlKeyLockTable(table)} WHERE bucket IN (${buckets.join(', ')}) FOR UPDATE)`;
}

/** The table as an SQL string naming it server-wide (`database.table`). */
const qualified = (table: string): string => (table.includes('.') ? `'${table}'` : `CONCAT(DATABASE(), '.${table}')`);

/**
 * The name of a named lock (`GET_LOCK`) of the table, as SQL: named locks are server-wide and
 * at most 64 characters, so the database and table are hashed. `purpose`: `schema`, `claim`, `purge`.
 */
export const tableLockName = (table: string, purpose: 'schema' | 'claim' | 'purge'): string =>
  `CONCAT('nm:', SHA1(${qualified(table)}), ':${purpose}')`;

/** The named lock a lease owner holds while it lives, as SQL (`owner`: an SQL expression). */
export const ownerLockName = (table: string, owner: string): string =>
  `CONCAT('nm:', SHA1(CONCAT(${qualified(table)}, ' ', ${owner})))`;

/**
 * An outbox row as `OUTBOX_COLUMNS` selects it. Numbers may come as strings (an application's
 * pool with `bigNumberStrings`): `mysqlRowToEntry()` makes them numbers.
 */
export interface MysqlOutboxRow extends Omit<
  OutboxRow,
  'timestamp' | 'created_at' | 'attempts' | 'next_attempt_at' | 'settled_at' | 'lease_expires_at'
> {
  sequence: number | string;
  timestamp: number | string;
  created_at: number | string;
  attempts: number | string;
  next_attempt_at: number | string | null;
  settled_at: number | string | null;
  lease_expires_at: number | string | null;
}

/**
 * The columns of a `MysqlOutboxRow`. JSON columns are read as text (mysql2 would parse the
 * columns MariaDB marks as JSON, and JavaScript objects put integer-like keys first).
 */
export const OUTBOX_COLUMNS = `sequence, id, topic, ordering_key, CAST(body AS CHAR) AS body, CAST(headers AS CHAR) AS headers,
  \`timestamp\`, ${ms('created_at')} AS created_at, status, attempts, ${ms('next_attempt_at')} AS next_attempt_at,
  last_error, dead_reason, CAST(attempt_history AS CHAR) AS attempt_history, ${ms('settled_at')} AS settled_at,
  lease_owner, ${ms('lease_expires_at')} AS lease_expires_at`;

/** How the shared filter rule (outbox-filter.ts) is written for MySQL. */
export const MYSQL_FILTER_DIALECT: OutboxSqlDialect = {
  time: at,
  idIn: (ids, parameters) => `id IN (${ids.map((id) => parameters.bind(id)).join(', ')})`,
};

const numberOrNull = (value: number | string | null): number | null => (value === null ? null : Number(value));

/** A row as an entry, its times in this process's clock (whole ms). */
export function mysqlRowToEntry(row: MysqlOutboxRow, clock: DatabaseClock): OutboxEntry {
  return outboxRowToEntry(
    {
      ...row,
      timestamp: Number(row.timestamp),
      created_at: Number(row.created_at),
      attempts: Number(row.attempts),
      next_attempt_at: numberOrNull(row.next_attempt_at),
      settled_at: numberOrNull(row.settled_at),
      lease_expires_at: numberOrNull(row.lease_expires_at),
    },
    (databaseMs) => Math.round(clock.toLocal(databaseMs)),
  );
}
