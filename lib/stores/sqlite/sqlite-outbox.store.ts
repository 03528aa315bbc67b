import type { Database, Statement } from 'better-sqlite3';
import type { OnApplicationShutdown } from '@nestjs/common';
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
  OutboxStore,
} from '../../kernel/outbox-store.interface.js';
import { restoreMessage } from '../restore-message.js';
import { loadBetterSqlite3 } from './load-better-sqlite3.js';
import { outboxSchema } from './sqlite-outbox.schema.js';
import { WalSync } from './wal-sync.js';

/** Options of `SqliteOutboxStore`. */
export interface SqliteOutboxStoreOptions {
  /** The database file, created if missing (its folder must exist). Required. */
  path: string;
  /**
   * `full`: a stored message survives the machine losing power. The write-ahead
   * log is synced off the event loop, once for all the requests committed
   * meanwhile, before their responses go out. `normal`: it survives the
   * process dying, not the OS; responses do not wait for the disk. Default: `full`.
   */
  synchronous?: 'full' | 'normal';
  /** Table name. Default: `nestjs_messaging_outbox`. */
  table?: string;
  /** How long to wait for another process's write lock (the CLI, say), in ms. Default: `5000`. */
  busyTimeoutMs?: number;
}

interface Row {
  sequence: number;
  id: string;
  topic: string;
  body: string;
  headers: string;
  timestamp: number;
  created_at: number;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  settled_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
}

interface PendingAppend {
  readonly messages: readonly Message[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * A durable outbox in one SQLite file (WAL mode), for a single application
 * instance: zero set-up, survives `kill -9`. Requests that finish in the same
 * event-loop turn share one transaction and one fsync (group commit). Needs
 * the `better-sqlite3` package, version 13 or newer.
 *
 * @example
 * ```ts
 * MessagingModule.forRoot({
 *   messenger: new AmqpMessenger({ urls: ['amqp://broker:5672'] }),
 *   outbox: new SqliteOutboxStore({ path: '/var/lib/my-app/outbox.db' }),
 * });
 * ```
 */
export class SqliteOutboxStore implements OutboxStore, OnApplicationShutdown {
  readonly durable = true;
  /** The database file. */
  readonly path: string;
  private readonly db: Database;
  private readonly table: string;
  private readonly insert: Statement;
  private readonly claimQuery: Statement;
  private readonly leaseUpdate: Statement;
  private readonly deliveredDelete: Statement;
  private readonly deliveredUpdate: Statement;
  private readonly failureUpdate: Statement;
  private readonly nextDueQuery: Statement;
  private readonly walSync: WalSync | undefined;
  private appends: PendingAppend[] = [];
  private commitScheduled = false;

  /** Opens (and creates) the database at once: a bad path fails at start-up. @throws MessagingOptionsError */
  constructor(options: SqliteOutboxStoreOptions) {
    // Checked as unknown: options often come from environment variables or plain JavaScript.
    const raw = options as unknown as Record<string, unknown>;
    const { path, synchronous = 'full', table = 'nestjs_messaging_outbox', busyTimeoutMs = 5000 } = raw;
    const issues: string[] = [];
    if (typeof path !== 'string' || path === '') issues.push(`path: expected a file path, got ${JSON.stringify(path)}`);
    if (synchronous !== 'full' && synchronous !== 'normal')
      issues.push(`synchronous: expected "full" or "normal", got ${JSON.stringify(synchronous)}`);
    if (typeof table !== 'string' || !TABLE_NAME.test(table))
      issues.push(`table: expected an SQL identifier (letters, digits, _), got ${JSON.stringify(table)}`);
    if (typeof busyTimeoutMs !== 'number' || !Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0)
      issues.push(`busyTimeoutMs: expected a whole number of milliseconds >= 0, got ${JSON.stringify(busyTimeoutMs)}`);
    if (
      issues.length > 0 ||
      typeof path !== 'string' ||
      typeof table !== 'string' ||
      typeof busyTimeoutMs !== 'number' ||
      (synchronous !== 'full' && synchronous !== 'normal')
    ) {
      throw new MessagingOptionsError(issues, 'SqliteOutboxStore options');
    }
    this.path = path;
    this.table = table;
    const BetterSqlite3 = loadBetterSqlite3();
    try {
      this.db = new BetterSqlite3(path, { timeout: busyTimeoutMs });
    } catch (error) {
      throw new MessagingOptionsError(
        [`path: cannot open ${path}: ${error instanceof Error ? error.message : String(error)}`],
        'SqliteOutboxStore options',
      );
    }
    if (this.db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') {
      this.db.close();
      throw new MessagingOptionsError(
        [`path: ${path} cannot be used in WAL mode (an in-memory database?); give a file path`],
        'SqliteOutboxStore options',
      );
    }
    // Commits never fsync on the event loop: appends are made durable by WalSync (below).
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(outboxSchema(table));
    this.walSync = synchronous === 'full' ? openWalSync(this.db, path, table) : undefined;
    const t = table;
    this.insert = this.db.prepare(
      `INSERT INTO ${t} (id, topic, body, headers, timestamp, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    // Per-topic order: a topic is blocked from its first message leased to another dispatcher.
    // The claimer's own messages in flight, and messages waiting for a retry, are skipped instead.
    this.claimQuery = this.db.prepare(`
      WITH blocked AS (
        SELECT topic, MIN(sequence) AS first_blocked FROM ${t}
        WHERE status = 'pending' AND lease_expires_at > @now AND lease_owner <> @owner
        GROUP BY topic)
      SELECT m.sequence FROM ${t} m LEFT JOIN blocked b ON b.topic = m.topic
      WHERE m.status = 'pending' AND m.next_attempt_at <= @now
        AND (m.lease_expires_at IS NULL OR m.lease_expires_at <= @now)
        AND (b.first_blocked IS NULL OR m.sequence < b.first_blocked)
      ORDER BY m.sequence LIMIT @limit`);
    this.leaseUpdate = this.db.prepare(
      `UPDATE ${t} SET lease_owner = @owner, lease_expires_at = @expires WHERE sequence = @sequence RETURNING *`,
    );
    this.deliveredDelete = this.db.prepare(`DELETE FROM ${t} WHERE id = ? AND status = 'pending' AND lease_owner = ?`);
    this.deliveredUpdate = this.db.prepare(
      `UPDATE ${t} SET status = 'delivered', settled_at = ?, lease_owner = NULL, lease_expires_at = NULL
       WHERE id = ? AND status = 'pending' AND lease_owner = ?`,
    );
    this.failureUpdate = this.db.prepare(`
      UPDATE ${t} SET lease_owner = NULL, lease_expires_at = NULL, last_error = @error,
        attempts = attempts + @counted,
        status = CASE WHEN @next IS NULL THEN 'dead' ELSE 'pending' END,
        settled_at = CASE WHEN @next IS NULL THEN @now ELSE NULL END,
        next_attempt_at = COALESCE(@next, next_attempt_at)
      WHERE id = @id AND status = 'pending' AND lease_owner = @owner`);
    this.nextDueQuery = this.db.prepare(
      `SELECT MIN(MAX(next_attempt_at, COALESCE(lease_expires_at, 0))) AS due FROM ${t} WHERE status = 'pending'`,
    );
  }

  append(messages: readonly Message[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.appends.push({ messages, resolve, reject });
      if (!this.commitScheduled) {
        this.commitScheduled = true;
        setImmediate(() => {
          this.commitAppends();
        });
      }
    });
  }

  claim({ owner, limit, now, leaseMs }: ClaimRequest): Promise<OutboxEntry[]> {
    const claimed = this.db
      .transaction(() => {
        const sequences = this.claimQuery.all({ now, limit, owner }) as { sequence: number }[];
        return sequences.map(
          ({ sequence }) => this.leaseUpdate.get({ owner, expires: now + leaseMs, sequence }) as Row,
        );
      })
      .immediate();
    return Promise.resolve(claimed.map(toEntry));
  }

  markDelivered(owner: string, ids: readonly string[], now: number, retain: boolean): Promise<void> {
    this.db.transaction(() => {
      for (const id of ids) {
        if (retain) this.deliveredUpdate.run(now, id, owner);
        else this.deliveredDelete.run(id, owner);
      }
    })();
    return Promise.resolve();
  }

  reschedule(owner: string, failures: readonly FailedAttempt[], now: number): Promise<void> {
    this.db.transaction(() => {
      for (const failure of failures) {
        this.failureUpdate.run({
          id: failure.id,
          owner,
          now,
          error: failure.error,
          counted: failure.counted ? 1 : 0,
          next: failure.nextAttemptAt ?? null,
        });
      }
    })();
    return Promise.resolve();
  }

  nextDueAt(): Promise<number | undefined> {
    const { due } = this.nextDueQuery.get() as { due: number | null };
    return Promise.resolve(due ?? undefined);
  }

  list(filter: OutboxFilter, limit: number): Promise<OutboxEntry[]> {
    const { where, params } = whereClause(filter);
    const rows = this.db
      .prepare(`SELECT * FROM ${this.table} WHERE ${where} ORDER BY sequence LIMIT @limit`)
      .all({ ...params, limit }) as Row[];
    return Promise.resolve(rows.map(toEntry));
  }

  counts(): Promise<OutboxCounts> {
    const counts = { pending: 0, delivered: 0, dead: 0 };
    const rows = this.db.prepare(`SELECT status, COUNT(*) AS n FROM ${this.table} GROUP BY status`).all() as {
      status: OutboxStatus;
      n: number;
    }[];
    for (const { status, n } of rows) counts[status] = n;
    return Promise.resolve(counts);
  }

  retry(filter: OutboxFilter, now: number): Promise<number> {
    const { where, params } = whereClause({ ...filter, status: 'dead' });
    const { changes } = this.db
      .prepare(
        `UPDATE ${this.table} SET status = 'pending', attempts = 0, next_attempt_at = @now, settled_at = NULL WHERE ${where}`,
      )
      .run({ ...params, now });
    return Promise.resolve(changes);
  }

  purge(filter: OutboxFilter): Promise<number> {
    const { where, params } = whereClause(filter);
    const { changes } = this.db.prepare(`DELETE FROM ${this.table} WHERE ${where} AND status <> 'pending'`).run(params);
    return Promise.resolve(changes);
  }

  /** Closes the database once appends still waiting are written and synced. */
  async close(): Promise<void> {
    if (!this.db.open) return;
    this.commitAppends();
    await this.walSync?.close();
    this.db.close();
  }

  /** Closes the database when the application shuts down (after the dispatcher drained). */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  private commitAppends(): void {
    this.commitScheduled = false;
    const appends = this.appends;
    if (appends.length === 0) return;
    this.appends = [];
    const now = Date.now();
    try {
      this.db.transaction(() => {
        for (const { messages } of appends) this.insertAll(messages, now);
      })();
      this.settleDurably(appends);
    } catch {
      // One request's bad write (a duplicate id, say) must not fail the others: write them one by one.
      for (const append of appends) {
        try {
          this.db.transaction(() => {
            this.insertAll(append.messages, now);
          })();
          this.settleDurably([append]);
        } catch (error) {
          const { messages } = append;
          append.reject(
            new OutboxWriteError(
              messages,
              `SQLite ${this.path}: ${error instanceof Error ? error.message : String(error)}`,
              { cause: error },
            ),
          );
        }
      }
    }
  }

  /** Resolves committed appends once they are durable (at once with `synchronous: 'normal'`). */
  private settleDurably(appends: readonly PendingAppend[]): void {
    if (this.walSync === undefined) {
      for (const append of appends) append.resolve();
      return;
    }
    this.walSync.sync().then(
      () => {
        for (const append of appends) append.resolve();
      },
      (error: unknown) => {
        for (const { messages, reject } of appends) {
          reject(
            new OutboxWriteError(
              messages,
              `SQLite ${this.path}: syncing the write-ahead log failed: ${error instanceof Error ? error.message : String(error)}`,
              { cause: error },
            ),
          );
        }
      },
    );
  }

  private insertAll(messages: readonly Message[], now: number): void {
    for (const { id, topic, body, headers, timestamp } of messages) {
      this.insert.run(id, topic, JSON.stringify(body), JSON.stringify(headers), timestamp, now, now);
    }
  }
}

/** A WalSync on the database's write-ahead log, which the first read makes sure exists. */
function openWalSync(db: Database, path: string, table: string): WalSync {
  db.prepare(`SELECT 1 FROM ${table} LIMIT 1`).get();
  return new WalSync(`${path}-wal`);
}

function whereClause(filter: OutboxFilter): { where: string; params: Record<string, string | number> } {
  const conditions = ['1 = 1'];
  const params: Record<string, string | number> = {};
  if (filter.status !== undefined) {
    conditions.push('status = @status');
    params.status = filter.status;
  }
  if (filter.topic !== undefined) {
    conditions.push('topic = @topic');
    params.topic = filter.topic;
  }
  if (filter.ids !== undefined) {
    // Bound one by one: ids come from operators' command lines.
    const names = filter.ids.map((id, index) => {
      params[`id${index}`] = id;
      return `@id${index}`;
    });
    conditions.push(names.length === 0 ? '0 = 1' : `id IN (${names.join(', ')})`);
  }
  if (filter.before !== undefined) {
    conditions.push(
      `(CASE WHEN status = 'pending' THEN created_at ELSE COALESCE(settled_at, created_at) END) < @before`,
    );
    params.before = filter.before;
  }
  return { where: conditions.join(' AND '), params };
}

function toEntry(row: Row): OutboxEntry {
  return Object.freeze({
    message: restoreMessage(row.id, row.topic, row.body, row.headers, row.timestamp),
    status: row.status,
    attempts: row.attempts,
    createdAt: row.created_at,
    nextAttemptAt: row.next_attempt_at,
    ...(row.last_error === null ? {} : { lastError: row.last_error }),
    ...(row.settled_at === null ? {} : { settledAt: row.settled_at }),
    ...(row.lease_owner === null || row.lease_expires_at === null
      ? {}
      : { lease: Object.freeze({ owner: row.lease_owner, expiresAt: row.lease_expires_at }) }),
  });
}
