import type { JsonObject, Message, MessageHeaders } from '../kernel/message.interface.js';
import type { AttemptRecord, DeadReason, OutboxEntry, OutboxStatus } from '../kernel/outbox-entry.interface.js';

/**
 * A stored message's state as a store holds it, times in local ms since the
 * epoch; an absent value is `undefined` (memory) or `null` (SQL).
 */
export interface OutboxEntryState {
  readonly message: Message;
  readonly status: OutboxStatus;
  readonly attempts: number;
  readonly createdAt: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null | undefined;
  readonly deadReason: DeadReason | null | undefined;
  /** Oldest first; frozen by `toOutboxEntry()`. */
  readonly history: readonly AttemptRecord[];
  readonly settledAt: number | null | undefined;
  readonly leaseOwner: string | null | undefined;
  readonly leaseExpiresAt: number | null | undefined;
}

/**
 * An outbox row as both SQL stores select it: the message's columns (body and
 * headers as JSON text), times as numbers in the database's ms since the epoch.
 */
export interface OutboxRow {
  id: string;
  topic: string;
  /** The ordering key; `null`: no ordering; `''` (a row written by version 1 code, which a trigger fixes): the topic. */
  ordering_key: string | null;
  body: string;
  headers: string;
  timestamp: number;
  created_at: number;
  status: OutboxStatus;
  attempts: number;
  /** `null`: due at once (PostgreSQL writes no time for a new message). */
  next_attempt_at: number | null;
  last_error: string | null;
  dead_reason: DeadReason | null;
  /** JSON text of the `AttemptRecord`s, oldest first. */
  attempt_history: string;
  settled_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
}

const NO_HISTORY: readonly AttemptRecord[] = Object.freeze([]);

/**
 * The frozen, public view of a stored message: optional fields only when set,
 * `lease` only when both its owner and expiry are.
 */
export function toOutboxEntry(state: OutboxEntryState): OutboxEntry {
  const { lastError, deadReason, settledAt, leaseOwner, leaseExpiresAt } = state;
  // A message never attempted, as every claim of a healthy bus hands out: no optional field but the lease.
  if (
    state.history.length === 0 &&
    (lastError === undefined || lastError === null) &&
    (settledAt === undefined || settledAt === null) &&
    state.status !== 'dead' &&
    typeof leaseOwner === 'string' &&
    typeof leaseExpiresAt === 'number'
  ) {
    return Object.freeze({
      message: state.message,
      status: state.status,
      attempts: state.attempts,
      createdAt: state.createdAt,
      nextAttemptAt: state.nextAttemptAt,
      history: NO_HISTORY,
      lease: Object.freeze({ owner: leaseOwner, expiresAt: leaseExpiresAt }),
    });
  }
  return Object.freeze({
    message: state.message,
    status: state.status,
    attempts: state.attempts,
    createdAt: state.createdAt,
    nextAttemptAt: state.nextAttemptAt,
    ...(lastError === undefined || lastError === null ? {} : { lastError }),
    ...(deadReason === undefined || deadReason === null || state.status !== 'dead' ? {} : { deadReason }),
    history: Object.freeze(state.history.map((record) => Object.freeze({ ...record }))),
    ...(settledAt === undefined || settledAt === null ? {} : { settledAt }),
    ...(leaseOwner === undefined || leaseOwner === null || leaseExpiresAt === undefined || leaseExpiresAt === null
      ? {}
      : { lease: Object.freeze({ owner: leaseOwner, expiresAt: leaseExpiresAt }) }),
  });
}

/**
 * An SQL row as an entry.
 * @param toLocal - turns a database time into local ms since the epoch; default: the same number.
 */
export function outboxRowToEntry(row: OutboxRow, toLocal: (databaseMs: number) => number = (ms) => ms): OutboxEntry {
  const local = (value: number | null): number | null => (value === null ? null : toLocal(value));
  const createdAt = toLocal(row.created_at);
  return toOutboxEntry({
    message: restoreMessage(
      row.id,
      row.topic,
      row.ordering_key === '' ? row.topic : row.ordering_key,
      row.body,
      row.headers,
      row.timestamp,
    ),
    status: row.status,
    attempts: row.attempts,
    createdAt,
    nextAttemptAt: local(row.next_attempt_at) ?? createdAt,
    lastError: row.last_error,
    deadReason: row.dead_reason,
    history: historyOf(row.attempt_history, toLocal),
    settledAt: local(row.settled_at),
    leaseOwner: row.lease_owner,
    leaseExpiresAt: local(row.lease_expires_at),
  });
}

/** Rebuilds a stored message from its columns, as immutable as the one that was accepted. */
export function restoreMessage(
  id: string,
  topic: string,
  key: string | null,
  bodyJson: string,
  headersJson: string,
  timestamp: number,
): Message {
  return Object.freeze({
    id,
    topic,
    key,
    body: parseFrozenBody(bodyJson),
    headers: Object.freeze(JSON.parse(headersJson) as MessageHeaders),
    timestamp,
  });
}

/** The stored history (JSON text, times in the database's ms), each record's time made local. */
function historyOf(json: string | null, toLocal: (databaseMs: number) => number): AttemptRecord[] {
  if (json === null || json === '') return [];
  // SQLite's json_object() writes `counted` as 1 or 0.
  const records = JSON.parse(json) as (Omit<AttemptRecord, 'counted'> & { counted: boolean | number })[];
  return records.map(({ at, error, messenger, counted }) => ({
    at: toLocal(at),
    error,
    messenger,
    counted: counted === true || counted === 1,
  }));
}

/** A stored body's JSON text as the deep-frozen object a `Message` carries. */
export function parseFrozenBody(bodyJson: string): Readonly<JsonObject> {
  return deepFreeze(JSON.parse(bodyJson) as JsonObject);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
