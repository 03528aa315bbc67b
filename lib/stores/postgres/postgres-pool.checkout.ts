import type { Pool, PoolClient } from 'pg';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { PostgresPoolTimeoutError } from './postgres-pool-timeout.error.js';

/**
 * Checks connections out of the store's pool, never waiting for ever: at most `timeoutMs`, and not
 * at all when the pool is full and every connection in it is one the store keeps for good (LISTEN,
 * lease-owner locks, checked out of the application's pool): such a wait would never end. Only
 * the pool's public counters (`totalCount`, `idleCount`, `waitingCount`) are read: a wait is
 * queued (`waitingCount` grows) only when the pool is at its `max`.
 */
export class PostgresPoolCheckout {
  /** Connections checked out for good (`keep()`), until they are ended. */
  private kept = 0;
  /** Re-checks of the waits in progress, run when `kept` grows. */
  private readonly waits = new Set<() => void>();

  constructor(
    private readonly pool: Pool,
    private readonly timeoutMs: number,
  ) {}

  /**
   * A client of the pool, to `release()` after use.
   * @param purpose - what it is for, in error messages ("a claim").
   * @param wait - `holding`: how many clients the caller itself holds while it waits (they count as
   *   the store's); `keeps`: how many the store keeps for good, for the error (default: those kept now).
   * @throws PostgresPoolTimeoutError (as a rejection) after `timeoutMs` without a free connection.
   * @throws MessagingOptionsError (as a rejection) naming `pool` when the store's own connections fill it.
   */
  connect(purpose: string, wait: { holding?: () => number; keeps?: number } = {}): Promise<PoolClient> {
    const { holding = () => 0, keeps } = wait;
    const { pool } = this;
    const waiting = pool.connect();
    // An idle client is handed over at once (in order of the waits): no timer then.
    if (pool.idleCount >= pool.waitingCount && pool.idleCount > 0) return waiting;
    return new Promise<PoolClient>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | undefined, client?: PoolClient): void => {
        if (settled) {
          // Given up already: the client (if it ever comes) goes straight back.
          client?.release();
          return;
        }
        settled = true;
        clearTimeout(timer);
        this.waits.delete(check);
        if (client !== undefined) resolve(client);
        else reject(error ?? new Error('no client'));
      };
      const check = (): void => {
        const ours = this.kept + holding();
        if (pool.waitingCount > 0 && pool.idleCount === 0 && pool.totalCount <= ours) {
          finish(starved(purpose, pool.totalCount, keeps ?? this.kept));
        }
      };
      const timer = setTimeout(() => {
        finish(new PostgresPoolTimeoutError(purpose, this.timeoutMs, pool, this.kept));
      }, this.timeoutMs);
      timer.unref();
      this.waits.add(check);
      waiting.then(
        (client) => {
          finish(undefined, client);
        },
        (error: unknown) => {
          finish(error instanceof Error ? error : new Error(String(error)));
        },
      );
      check();
    });
  }

  /**
   * A client of the pool kept until the returned `end()` (which destroys it: it may hold a lock).
   * @throws as `connect()`.
   */
  async keep(purpose: string): Promise<{ client: PoolClient; end: () => Promise<void> }> {
    const client = await this.connect(purpose);
    this.kept++;
    for (const check of [...this.waits]) check();
    let ended = false;
    const end = (): Promise<void> => {
      if (!ended) {
        ended = true;
        this.kept--;
        client.release(true);
      }
      return Promise.resolve();
    };
    return { client, end };
  }

  /** Re-checks the waits in progress (a caller's `holding` grew). */
  recheck(): void {
    for (const check of [...this.waits]) check();
  }
}

/** The store's own connections fill the application's pool: waiting would never end. */
function starved(purpose: string, total: number, keeps: number): MessagingOptionsError {
  return new MessagingOptionsError(
    [
      `pool: PostgresOutboxStore keeps ${String(keeps)} connection(s) of the application's pool for good ` +
        `(LISTEN and its lease-owner lock) and needs 1 more for its queries, but this pool gives at most ` +
        `${String(total)} at once, so ${purpose} would wait for ever; give it max >= ${String(keeps + 1)} ` +
        "(plus what the application's own queries need), or pass connectionString or connection so the store opens its own connections",
    ],
    'PostgresOutboxStore options',
  );
}
