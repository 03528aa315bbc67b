import { MessagingError } from '../../kernel/messaging.errors.js';

/**
 * No connection of the MySQL pool became free within the store's `acquireTimeoutMs` (the
 * application's queries, or other work of the store, held all of them), or another instance
 * held the table's claim or purge turn that long. Nothing was written or claimed; the
 * operation may be tried again.
 */
export class MysqlPoolTimeoutError extends MessagingError {
  /** How long it waited, in ms (the store's `acquireTimeoutMs`). */
  readonly waitedMs: number;

  /**
   * @param purpose - what the connection was for ("a claim").
   * @param waitedMs - how long it waited, in ms.
   * @param what - what did not come: `a connection of the pool (connectionLimit N)` or `the claim turn`.
   */
  constructor(purpose: string, waitedMs: number, what: string) {
    super(
      `MySQL outbox: ${what} did not come within ${String(waitedMs)} ms (acquireTimeoutMs) for ${purpose}. ` +
        'Give the pool a larger connectionLimit, hold its connections for shorter, or raise acquireTimeoutMs',
    );
    this.waitedMs = waitedMs;
  }
}
