import type { Database, Statement, Transaction } from 'better-sqlite3';
import type { Message } from '../../kernel/message.interface.js';
import type { AppendOptions } from '../../kernel/outbox-delivery-store.interface.js';
import { OutboxWriteError } from '../../kernel/outbox.errors.js';
import { busyBackoffMs, isSqliteBusy } from './sqlite-busy.js';
import type { WalSync } from './wal-sync.js';

interface PendingAppend {
  readonly messages: readonly Message[];
  readonly availableAt: ReadonlyMap<string, number> | undefined;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The appends of one event-loop turn, written together, given up together at `deadline` (ms since the epoch). */
interface AppendGroup {
  appends: PendingAppend[];
  readonly deadline: number;
}

/**
 * Appends with group commit: the requests that append in the same
 * event-loop turn share one transaction and (with a `WalSync`) one fsync.
 * One request's bad write (a duplicate id, say) does not fail the others.
 *
 * While another connection holds the write lock, the groups wait on a timer
 * (never on the event loop) and are tried again together, in order, each
 * until `busyTimeoutMs` after it was first tried; then the whole group is
 * rejected at once, with nothing of it written.
 */
export class SqliteOutboxAppender {
  private readonly insert: Statement;
  private readonly insertGroups: Transaction<(groups: readonly AppendGroup[], now: number) => void>;
  private appends: PendingAppend[] = [];
  private commitScheduled = false;
  /** Groups tried and not yet written nor rejected, oldest first. */
  private groups: AppendGroup[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private busyAttempts = 0;
  private drained: (() => void) | undefined;

  /**
   * @param path - the database file, named in errors.
   * @param walSync - makes commits durable before appends resolve; `undefined`: they resolve at commit.
   * @param busyTimeoutMs - how long a group waits for another connection's write lock, in ms.
   */
  constructor(
    db: Database,
    table: string,
    private readonly path: string,
    private readonly walSync: WalSync | undefined,
    private readonly busyTimeoutMs: number,
  ) {
    this.insert = db.prepare(
      // A duplicate id (a caller-supplied one) is skipped: the first message with it stays.
      `INSERT INTO ${table} (id, topic, ordering_key, body, headers, timestamp, created_at, next_attempt_at, holds_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    );
    this.insertGroups = db.transaction((groups: readonly AppendGroup[], now: number) => {
      for (const { appends } of groups) for (const append of appends) this.insertAll(append, now);
    });
  }

  /**
   * Stores one request's messages, all or none, at the end of this event-loop turn.
   * @throws OutboxWriteError (as a rejection) when the insert or the sync fails, or the
   * database stayed locked for `busyTimeoutMs`; none of the messages is then stored.
   */
  append(messages: readonly Message[], options?: AppendOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.appends.push({ messages, availableAt: options?.availableAt, resolve, reject });
      if (!this.commitScheduled && this.retryTimer === undefined) {
        this.commitScheduled = true;
        setImmediate(() => {
          this.commit();
        });
      }
    });
  }

  /** Commits the appends waiting now (at once: before the database closes, say), or waits for the lock on a timer. */
  commit(): void {
    this.commitScheduled = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const now = Date.now();
    if (this.appends.length > 0) {
      this.groups.push({ appends: this.appends, deadline: now + this.busyTimeoutMs });
      this.appends = [];
    }
    const groups = this.groups;
    if (groups.length === 0) return;
    try {
      this.insertGroups.immediate(groups, now);
      this.groups = [];
      this.busyAttempts = 0;
      for (const { appends } of groups) this.settleDurably(appends);
    } catch (error) {
      if (isSqliteBusy(error)) this.waitForLock(error);
      // One request's bad write (a duplicate id, say) must not fail the others: write them one by one.
      else this.commitOneByOne(now);
    }
    if (this.groups.length === 0 && this.drained !== undefined) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  }

  /** Resolves once every append made so far is written (or rejected): before the database closes. */
  flush(): Promise<void> {
    this.commit();
    if (this.groups.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  /** Rejects the groups whose time is up, and tries the others again after a short backoff. */
  private waitForLock(busy: unknown): void {
    const now = Date.now();
    const expired = this.groups.filter(({ deadline }) => deadline <= now);
    if (expired.length > 0) {
      this.groups = this.groups.filter(({ deadline }) => deadline > now);
      const reason =
        `the database stayed locked by another connection (the outbox command, a backup, an sqlite3 shell?) ` +
        `for busyTimeoutMs (${String(this.busyTimeoutMs)} ms); nothing of this request was stored. ` +
        `Try again once it is done, or raise busyTimeoutMs`;
      for (const { appends } of expired) {
        for (const { messages, reject } of appends) reject(this.writeError(messages, reason, busy));
      }
    }
    if (this.groups.length === 0) {
      this.busyAttempts = 0;
      return;
    }
    const delay = busyBackoffMs(++this.busyAttempts, this.groups[0].deadline, now);
    this.retryTimer = setTimeout(() => {
      this.commit();
    }, delay);
  }

  /** Writes the groups' appends one by one; stops at a locked database, keeping what is left to retry. */
  private commitOneByOne(now: number): void {
    let busy: unknown;
    for (const group of this.groups) {
      const left: PendingAppend[] = [];
      for (const append of group.appends) {
        if (busy !== undefined) {
          left.push(append);
          continue;
        }
        try {
          this.insertGroups.immediate([{ appends: [append], deadline: group.deadline }], now);
          this.settleDurably([append]);
        } catch (error) {
          if (isSqliteBusy(error)) {
            busy = error;
            left.push(append);
          } else {
            append.reject(
              this.writeError(append.messages, error instanceof Error ? error.message : String(error), error),
            );
          }
        }
      }
      group.appends = left;
    }
    this.groups = this.groups.filter(({ appends }) => appends.length > 0);
    if (busy !== undefined) this.waitForLock(busy);
    else this.busyAttempts = 0;
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
        const reason = `syncing the write-ahead log failed: ${error instanceof Error ? error.message : String(error)}`;
        for (const { messages, reject } of appends) reject(this.writeError(messages, reason, error));
      },
    );
  }

  private writeError(messages: readonly Message[], reason: string, cause: unknown): OutboxWriteError {
    return new OutboxWriteError(messages, `SQLite ${this.path}: ${reason}`, { cause });
  }

  private insertAll({ messages, availableAt }: PendingAppend, now: number): void {
    for (const { id, topic, key, body, headers, timestamp } of messages) {
      const due = availableAt?.get(id) ?? now;
      // Delayed: its key's later messages wait for it.
      const holds = due > now && key !== null ? 1 : 0;
      this.insert.run(id, topic, key, JSON.stringify(body), JSON.stringify(headers), timestamp, now, due, holds);
    }
  }
}
