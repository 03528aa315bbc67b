import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ClientConfig, Pool, PoolClient, PoolConfig, QueryResult } from 'pg';
import type { Message } from '../../kernel/message.interface.js';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { OutboxWriteError } from '../../kernel/outbox.errors.js';
import type {
  ClaimRequest,
  FailedAttempt,
  OutboxCounts,
  OutboxEntry,
  OutboxFilter,
  OutboxStatus,
  PurgeOptions,
  SqlStatement,
  TransactionalOutboxStore,
} from '../../kernel/outbox-store.interface.js';
import { restoreMessage } from '../restore-message.js';
import { loadPg } from './load-pg.js';
import { PostgresClock } from './postgres-clock.js';
import { PostgresNotifications } from './postgres-notifications.js';
import {
  DEFAULT_POSTGRES_TABLE,
  notificationChannel,
  POSTGRES_TABLE_NAME,
  postgresOutboxSchema,
} from './postgres-outbox.schema.js';

/** Options of `PostgresOutboxStore`: give exactly one of `pool`, `connectionString` and `connection`. */
export interface PostgresOutboxStoreOptions {
  /** A `pg` `Pool` the application already has (typed loosely so apps without `pg` type-check). The store does not end it. */
  pool?: object;
  /** A connection string, `postgres://user@host:5432/db`. The store opens and ends its own pool. */
  connectionString?: string;
  /** `pg` `PoolConfig` settings (host, user, ssl, max, ...). The store opens and ends its own pool. */
  connection?: Readonly<Record<string, unknown>>;
  /** Table name, optionally `schema.table`. Default: `nestjs_messaging_outbox`. */
  table?: string;
  /** Create the table, indexes and trigger at start-up if missing (quick starts). Default: `false`: run the migration. */
  createSchema?: boolean;
  /** LISTEN for inserts, so dispatchers wake as soon as messages commit (polling stays as a fallback). Default: `true`. */
  listen?: boolean;
}

interface Row {
  sequence: string;
  id: string;
  topic: string;
  body: string;
  headers: string;
  timestamp: number;
  created_at: number;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  settled_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
}

/** Advisory lock sub-keys, next to the table's hash: claims, retention purges. */
const CLAIM_LOCK = 1;
const PURGE_LOCK = 2;

/** A time column as ms since the epoch (float8: pg parses it to a number). */
const ms = (column: string): string => `(extract(epoch from ${column}) * 1000)::float8`;
/** A parameter in ms since the epoch as a timestamp. */
const at = (parameter: string): string => `to_timestamp(${parameter}::float8 / 1000)`;

const COLUMNS = `sequence, id, topic, body::text AS body, headers::text AS headers, "timestamp"::float8 AS "timestamp",
  ${ms('created_at')} AS created_at, status, attempts, ${ms('next_attempt_at')} AS next_attempt_at, last_error,
  ${ms('settled_at')} AS settled_at, lease_owner, ${ms('lease_expires_at')} AS lease_expires_at`;

/**
 * A durable outbox in a PostgreSQL table, shared by any number of
 * application instances, and the store that makes messages transactional:
 * with `withTransactionalOutbox()`, a message added inside a
 * `@nestjs-cls/transactional` transaction is inserted by that transaction.
 *
 * - Claims run one at a time per table (a transaction-scoped advisory lock)
 *   and lease rows `FOR UPDATE SKIP LOCKED`: a message is sent by one
 *   dispatcher at a time, and a topic by one dispatcher at a time, so
 *   per-topic order holds across instances.
 * - A dispatcher that dies leaves leases that expire after `leaseMs`; then any
 *   instance takes the messages over.
 * - An insert trigger sends `NOTIFY`; every instance LISTENs and wakes when
 *   a transaction with messages commits.
 * - Times are kept in the database's clock, so hosts need not agree on the time.
 *
 * Needs the `pg` package.
 *
 * @example
 * ```ts
 * MessagingModule.forRoot({
 *   outbox: new PostgresOutboxStore({ connectionString: process.env.DATABASE_URL }),
 * });
 * ```
 */
export class PostgresOutboxStore implements TransactionalOutboxStore, OnModuleInit, OnApplicationShutdown {
  readonly durable = true;
  /** Claims and deletes are round trips: under steady load, batches gathered over 10 ms cost far fewer of them. */
  readonly preferredBatchWindowMs = 10;
  /** The outbox table. */
  readonly table: string;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly clock: PostgresClock;
  private readonly notifications: PostgresNotifications | undefined;
  private readonly listeners: (() => void)[] = [];
  private readonly createSchema: boolean;
  private ready: Promise<void> | undefined;
  private closed = false;

  /** Checks the options at once; connects in `onModuleInit()` (or at first use). @throws MessagingOptionsError */
  constructor(options: PostgresOutboxStoreOptions) {
    // Checked as unknown: options often come from environment variables or plain JavaScript.
    const raw = options as unknown as Record<string, unknown>;
    const {
      pool,
      connectionString,
      connection,
      table = DEFAULT_POSTGRES_TABLE,
      createSchema = false,
      listen = true,
    } = raw;
    const issues: string[] = [];
    const given = [pool, connectionString, connection].filter((value) => value !== undefined).length;
    if (given !== 1)
      issues.push(`pool, connectionString, connection: expected exactly one of them, got ${String(given)}`);
    if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === ''))
      issues.push(`connectionString: expected a postgres:// URL, got ${JSON.stringify(connectionString)}`);
    if (connection !== undefined && (typeof connection !== 'object' || connection === null))
      issues.push(`connection: expected pg PoolConfig, got ${JSON.stringify(connection)}`);
    if (
      pool !== undefined &&
      (typeof pool !== 'object' || pool === null || typeof (pool as Pool).connect !== 'function')
    )
      issues.push('pool: expected a pg Pool');
    if (typeof table !== 'string' || !POSTGRES_TABLE_NAME.test(table))
      issues.push(
        `table: expected a lower-case SQL identifier, optionally schema-qualified, got ${JSON.stringify(table)}`,
      );
    if (typeof createSchema !== 'boolean')
      issues.push(`createSchema: expected true or false, got ${JSON.stringify(createSchema)}`);
    if (typeof listen !== 'boolean') issues.push(`listen: expected true or false, got ${JSON.stringify(listen)}`);
    if (issues.length > 0 || typeof table !== 'string') {
      throw new MessagingOptionsError(issues, 'PostgresOutboxStore options');
    }
    const pg = loadPg();
    this.table = table;
    this.createSchema = createSchema === true;
    this.ownsPool = pool === undefined;
    this.pool =
      (pool as Pool | undefined) ??
      new pg.Pool(typeof connectionString === 'string' ? { connectionString } : { ...(connection as PoolConfig) });
    // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
    if (this.ownsPool) this.pool.on('error', () => undefined);
    this.clock = new PostgresClock(this.pool);
    this.notifications =
      listen === true
        ? new PostgresNotifications(pg, clientConfigOf(this.pool), notificationChannel(table), () => {
            for (const listener of this.listeners) listener();
          })
        : undefined;
  }

  /** Connects, creates the schema if asked, and checks the table exists: a wrong URL or a missing table fails start-up. */
  onModuleInit(): Promise<void> {
    return this.whenReady();
  }

  /** Calls `listener` whenever messages were inserted by any process (PostgreSQL `NOTIFY`). */
  watch(listener: () => void): void {
    this.listeners.push(listener);
  }

  appendStatement(messages: readonly Message[]): SqlStatement {
    const rows = messages.map(({ id, topic, body, headers, timestamp }) => ({ id, topic, body, headers, timestamp }));
    return {
      // One parameter whatever the driver does with arrays; the recordset keeps the messages' order.
      text: `INSERT INTO ${this.table} (id, topic, body, headers, "timestamp")
        SELECT id, topic, body, headers, "timestamp"
        FROM json_to_recordset($1::json) AS m(id text, topic text, body json, headers json, "timestamp" bigint)`,
      values: [JSON.stringify(rows)],
    };
  }

  async append(messages: readonly Message[]): Promise<void> {
    try {
      await this.whenReady();
      const { text, values } = this.appendStatement(messages);
      await this.pool.query(text, [...values]);
    } catch (error) {
      throw new OutboxWriteError(
        messages,
        `PostgreSQL ${this.table}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  async claim({ owner, limit, now, leaseMs }: ClaimRequest): Promise<OutboxEntry[]> {
    await this.whenReady();
    await this.clock.refresh();
    const t = this.table;
    const dbNow = this.clock.toDatabase(now);
    // One round trip: a query of several statements without parameters runs as one transaction,
    // and each statement takes its own snapshot. The lock makes claims take turns, so each sees
    // every lease committed before it and two dispatchers never split one topic between them.
    const [ownerLiteral, nowAt, expiresAt] = [
      literal(owner),
      timestampLiteral(dbNow),
      timestampLiteral(dbNow + leaseMs),
    ];
    const results = (await this.pool.query(
      `SELECT pg_advisory_xact_lock(hashtext(${literal(t)}), ${String(CLAIM_LOCK)});
       WITH blocked AS (
         SELECT topic, min(sequence) AS first_blocked FROM ${t}
         WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_owner <> ${ownerLiteral} AND lease_expires_at > ${nowAt}
         GROUP BY topic),
       due AS (
         SELECT m.sequence AS due_sequence FROM ${t} m LEFT JOIN blocked b ON b.topic = m.topic
         WHERE m.status = 'pending'
           AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= ${nowAt})
           AND (m.lease_expires_at IS NULL OR m.lease_expires_at <= ${nowAt})
           AND (b.first_blocked IS NULL OR m.sequence < b.first_blocked)
         ORDER BY m.sequence LIMIT ${String(Math.max(0, Math.floor(limit)))}
         FOR UPDATE OF m SKIP LOCKED)
       UPDATE ${t} SET lease_owner = ${ownerLiteral}, lease_expires_at = ${expiresAt}
       FROM due WHERE sequence = due.due_sequence
       RETURNING ${COLUMNS}`,
    )) as unknown as QueryResult<Row>[];
    const rows = results.at(-1)?.rows ?? [];
    return rows.sort((a, b) => Number(BigInt(a.sequence) - BigInt(b.sequence))).map((row) => this.toEntry(row));
  }

  async markDelivered(owner: string, ids: readonly string[], now: number, retain: boolean): Promise<void> {
    await this.whenReady();
    const t = this.table;
    if (retain) {
      await this.pool.query(
        `UPDATE ${t} SET status = 'delivered', settled_at = ${at('$3')}, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = ANY($1::text[]) AND status = 'pending' AND lease_owner = $2`,
        [ids, owner, this.clock.toDatabase(now)],
      );
    } else {
      await this.pool.query(`DELETE FROM ${t} WHERE id = ANY($1::text[]) AND status = 'pending' AND lease_owner = $2`, [
        ids,
        owner,
      ]);
    }
  }

  async reschedule(owner: string, failures: readonly FailedAttempt[], now: number): Promise<void> {
    await this.whenReady();
    const rows = failures.map((failure) => ({
      id: failure.id,
      error: failure.error,
      counted: failure.counted ? 1 : 0,
      next: failure.nextAttemptAt === undefined ? null : this.clock.toDatabase(failure.nextAttemptAt),
    }));
    await this.pool.query(
      `UPDATE ${this.table} AS o SET lease_owner = NULL, lease_expires_at = NULL, last_error = f.error,
         attempts = o.attempts + f.counted,
         status = CASE WHEN f.next IS NULL THEN 'dead' ELSE 'pending' END,
         settled_at = CASE WHEN f.next IS NULL THEN ${at('$3')} ELSE NULL END,
         next_attempt_at = CASE WHEN f.next IS NULL THEN o.next_attempt_at ELSE ${at('f.next')} END
       FROM json_to_recordset($1::json) AS f(id text, error text, counted int, next float8)
       WHERE o.id = f.id AND o.status = 'pending' AND o.lease_owner = $2`,
      [JSON.stringify(rows), owner, this.clock.toDatabase(now)],
    );
  }

  async nextDueAt(): Promise<number | undefined> {
    await this.whenReady();
    const t = this.table;
    // Messages queued behind a leased one of their topic cannot go before that lease ends (or its
    // holder finishes, which polling notices): they do not count, or an instance that another
    // one's leases hold up would ask again every few milliseconds.
    const { rows } = await this.pool.query<{ due: number | null }>(
      `WITH blocked AS (
         SELECT topic, min(sequence) AS first_blocked FROM ${t}
         WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_expires_at > clock_timestamp()
         GROUP BY topic)
       SELECT ${ms(`min(greatest(coalesce(m.next_attempt_at, '-infinity'), coalesce(m.lease_expires_at, '-infinity')))`)} AS due
       FROM ${t} m LEFT JOIN blocked b ON b.topic = m.topic
       WHERE m.status = 'pending' AND (b.first_blocked IS NULL OR m.sequence <= b.first_blocked)`,
    );
    const due = rows[0]?.due ?? null;
    if (due === null) return undefined;
    // -Infinity: a message never tried and not leased, due at once.
    return Number.isFinite(due) ? this.clock.toLocal(due) : 0;
  }

  async list(filter: OutboxFilter, limit: number): Promise<OutboxEntry[]> {
    await this.whenReady();
    const { where, values } = this.whereClause(filter);
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.table} WHERE ${where} ORDER BY sequence LIMIT $${String(values.length + 1)}`,
      [...values, Math.min(limit, Number.MAX_SAFE_INTEGER)],
    );
    return rows.map((row) => this.toEntry(row));
  }

  async counts(): Promise<OutboxCounts> {
    await this.whenReady();
    const counts = { pending: 0, delivered: 0, dead: 0 };
    const { rows } = await this.pool.query<{ status: OutboxStatus; n: number }>(
      `SELECT status, count(*)::int AS n FROM ${this.table} GROUP BY status`,
    );
    for (const { status, n } of rows) counts[status] = n;
    return counts;
  }

  async retry(filter: OutboxFilter, now: number): Promise<number> {
    await this.whenReady();
    const { where, values } = this.whereClause({ ...filter, status: 'dead' });
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.table} SET status = 'pending', attempts = 0, settled_at = NULL,
         next_attempt_at = ${at(`$${String(values.length + 1)}`)} WHERE ${where}`,
      [...values, this.clock.toDatabase(now)],
    );
    return rowCount ?? 0;
  }

  async purge(filter: OutboxFilter, options: PurgeOptions = {}): Promise<number> {
    await this.whenReady();
    const { where, values } = this.whereClause(filter);
    return this.inTransaction(async (client) => {
      // Retention purges of several instances: one does the delete, the others skip it.
      if (options.skipIfBusy === true) {
        const { rows } = await client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_xact_lock(hashtext($1), $2) AS locked',
          [this.table, PURGE_LOCK],
        );
        if (!rows[0]?.locked) return 0;
      }
      const { rowCount } = await client.query(
        `DELETE FROM ${this.table} WHERE ${where} AND status <> 'pending'`,
        values,
      );
      return rowCount ?? 0;
    });
  }

  /** Stops listening and ends the pool the store opened (not one it was given). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.notifications?.close();
    if (this.ownsPool) await this.pool.end();
  }

  /** Closes the store when the application shuts down (after the dispatcher drained). */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  private whenReady(): Promise<void> {
    this.ready ??= this.open().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private async open(): Promise<void> {
    let exists: boolean;
    try {
      exists = await this.tableExists(this.pool);
    } catch (error) {
      // The first query: a refused connection or a bad password is a configuration problem.
      throw new MessagingOptionsError(
        [
          `connectionString, connection, pool: cannot reach PostgreSQL (${error instanceof Error ? error.message : String(error)}); ` +
            'check the host, port, database and credentials, and that the server is running',
        ],
        'PostgresOutboxStore options',
      );
    }
    if (!exists && this.createSchema) {
      // DDL only when the table is missing: on a live table it would queue behind (and block) claims.
      // Instances starting together take turns; the second finds the table there.
      await this.inTransaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1), 0)', [this.table]);
        if (!(await this.tableExists(client))) await client.query(postgresOutboxSchema(this.table));
      });
    }
    if (!(await this.tableExists(this.pool))) {
      throw new MessagingOptionsError(
        [
          `table: ${this.table} does not exist; run the SQL of postgresOutboxSchema() in a migration, or set createSchema: true`,
        ],
        'PostgresOutboxStore options',
      );
    }
    await this.clock.refresh();
    void this.notifications?.start();
  }

  private async tableExists(client: Pool | PoolClient): Promise<boolean> {
    const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
      this.table,
    ]);
    return rows[0]?.exists;
  }

  private async inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private whereClause(filter: OutboxFilter): { where: string; values: unknown[] } {
    const conditions = ['true'];
    const values: unknown[] = [];
    const next = (value: unknown): string => `$${String(values.push(value))}`;
    if (filter.status !== undefined) conditions.push(`status = ${next(filter.status)}`);
    if (filter.topic !== undefined) conditions.push(`topic = ${next(filter.topic)}`);
    if (filter.ids !== undefined) conditions.push(`id = ANY(${next(filter.ids)}::text[])`);
    if (filter.before !== undefined) {
      conditions.push(
        `(CASE WHEN status = 'pending' THEN created_at ELSE coalesce(settled_at, created_at) END) < ${at(next(this.clock.toDatabase(filter.before)))}`,
      );
    }
    return { where: conditions.join(' AND '), values };
  }

  private toEntry(row: Row): OutboxEntry {
    const local = (value: number): number => Math.round(this.clock.toLocal(value));
    const createdAt = local(row.created_at);
    return Object.freeze({
      message: restoreMessage(row.id, row.topic, row.body, row.headers, row.timestamp),
      status: row.status,
      attempts: row.attempts,
      createdAt,
      nextAttemptAt: row.next_attempt_at === null ? createdAt : local(row.next_attempt_at),
      ...(row.last_error === null ? {} : { lastError: row.last_error }),
      ...(row.settled_at === null ? {} : { settledAt: local(row.settled_at) }),
      ...(row.lease_owner === null || row.lease_expires_at === null
        ? {}
        : { lease: Object.freeze({ owner: row.lease_owner, expiresAt: local(row.lease_expires_at) }) }),
    });
  }
}

/** The pool's connection settings, for the LISTEN connection. */
function clientConfigOf(pool: Pool): ClientConfig {
  return { ...(pool as unknown as { options: ClientConfig }).options };
}

/** A string as an SQL literal (standard_conforming_strings: only quotes need doubling). */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A time in ms since the epoch as an SQL timestamp expression. */
function timestampLiteral(ms: number): string {
  if (!Number.isFinite(ms)) throw new Error(`not a time: ${String(ms)}`);
  return `to_timestamp(${String(ms)}::float8 / 1000)`;
}
