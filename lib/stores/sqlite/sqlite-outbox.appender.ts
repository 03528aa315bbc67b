import type { Database, Statement } from 'better-sqlite3';
import type { Message } from '../../kernel/message.interface.js';
import { OutboxWriteError } from '../../kernel/outbox.errors.js';
import type { WalSync } from './wal-sync.js';

interface PendingAppend {
  readonly messages: readonly Message[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Appends with group commit: the requests that append in the same
 * event-loop turn share one transaction and (with a `WalSync`) one fsync.
 * One request's bad write (a duplicate id, say) does not fail the others.
 */
export class SqliteOutboxAppender {
  private readonly insert: Statement;
  private appends: PendingAppend[] = [];
  private commitScheduled = false;

  /**
   * @param path - the database file, named in errors.
   * @param walSync - makes commits durable before appends resolve; `undefined`: they resolve at commit.
   */
  constructor(
    private readonly db: Database,
    table: string,
    private readonly path: string,
    private readonly walSync: WalSync | undefined,
  ) {
    this.insert = db.prepare(
      `INSERT INTO ${table} (id, topic, body, headers, timestamp, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /**
   * Stores one request's messages, all or none, at the end of this event-loop turn.
   * @throws OutboxWriteError (as a rejection) when the insert or the sync fails.
   */
  append(messages: readonly Message[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.appends.push({ messages, resolve, reject });
      if (!this.commitScheduled) {
        this.commitScheduled = true;
        setImmediate(() => {
          this.commit();
        });
      }
    });
  }

  /** Commits the appends waiting now (at once: before the database closes, say). */
  commit(): void {
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
          append.reject(
            this.writeError(append.messages, error instanceof Error ? error.message : String(error), error),
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
        const reason = `syncing the write-ahead log failed: ${error instanceof Error ? error.message : String(error)}`;
        for (const { messages, reject } of appends) reject(this.writeError(messages, reason, error));
      },
    );
  }

  private writeError(messages: readonly Message[], reason: string, cause: unknown): OutboxWriteError {
    return new OutboxWriteError(messages, `SQLite ${this.path}: ${reason}`, { cause });
  }

  private insertAll(messages: readonly Message[], now: number): void {
    for (const { id, topic, body, headers, timestamp } of messages) {
      this.insert.run(id, topic, JSON.stringify(body), JSON.stringify(headers), timestamp, now, now);
    }
  }
}
