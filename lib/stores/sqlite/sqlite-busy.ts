import { MessagingError } from '../../kernel/messaging.errors.js';

/**
 * Another connection (another process: the CLI, a backup, an `sqlite3`
 * shell) held the SQLite outbox's lock for longer than `busyTimeoutMs`, so
 * the operation gave up. Nothing it would have written was written. The
 * original `SQLITE_BUSY` error is the `cause`.
 */
export class SqliteBusyError extends MessagingError {
  /** How long the operation waited for the lock, in ms (the store's `busyTimeoutMs`). */
  readonly waitedMs: number;

  constructor(path: string, operation: string, waitedMs: number, options?: ErrorOptions) {
    super(
      `SQLite ${path}: ${operation} gave up after waiting ${String(waitedMs)} ms (busyTimeoutMs) for another ` +
        `connection's lock on the database (the outbox command, a backup, an sqlite3 shell?); nothing was written. ` +
        `Try again once it is done, or raise busyTimeoutMs.`,
      options,
    );
    this.waitedMs = waitedMs;
  }
}

/** Whether `error` is SQLite's "database is locked" (`SQLITE_BUSY` and its extended codes). */
export function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Milliseconds before each new try while the database is locked, the last one
 * repeated; close to SQLite's own busy handler, but on a timer instead of a
 * sleep on the event loop.
 */
const BACKOFF_MS = [1, 2, 5, 10, 15, 20, 25];

/** How long to wait before try number `attempt` (1: the first retry), at most until `deadline`. */
export function busyBackoffMs(attempt: number, deadline: number, now: number): number {
  return Math.max(0, Math.min(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length) - 1], deadline - now));
}

/**
 * Runs `operation` (one synchronous statement or transaction, all or
 * nothing) at once; while it fails with `SQLITE_BUSY`, runs it again on a
 * timer, so the event loop never sleeps on the lock, until `timeoutMs` have
 * passed. The connection's own busy timeout must be 0.
 * @throws SqliteBusyError (as a rejection) when the database stayed locked for `timeoutMs`.
 * @throws whatever else `operation` throws, as a rejection.
 */
export function whenUnlocked<T>(operation: () => T, timeoutMs: number, path: string, what: string): Promise<T> {
  try {
    return Promise.resolve(operation());
  } catch (error) {
    if (!isSqliteBusy(error)) return Promise.reject(asError(error));
    const deadline = Date.now() + timeoutMs;
    return new Promise<T>((resolve, reject) => {
      let attempt = 0;
      const retry = (busy: unknown): void => {
        const now = Date.now();
        if (now >= deadline) {
          reject(new SqliteBusyError(path, what, timeoutMs, { cause: busy }));
          return;
        }
        setTimeout(
          () => {
            try {
              resolve(operation());
            } catch (again) {
              if (isSqliteBusy(again)) retry(again);
              else reject(asError(again));
            }
          },
          busyBackoffMs(++attempt, deadline, now),
        );
      };
      retry(error);
    });
  }
}

/** `error` if it is an `Error` (better-sqlite3 throws only those), else one saying what was thrown. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
