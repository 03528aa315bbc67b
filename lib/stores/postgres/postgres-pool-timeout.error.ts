import { MessagingError } from '../../kernel/messaging.errors.js';

/** The public counters of a `pg.Pool` (structural: no `pg` types in the declarations). */
export interface PoolCounters {
  /** Connections open, idle or checked out. */
  readonly totalCount: number;
  /** Connections open and idle. */
  readonly idleCount: number;
  /** Checkouts queued for a connection. */
  readonly waitingCount: number;
}

/**
 * No connection of the PostgreSQL pool became free within the store's `acquireTimeoutMs`
 * (the application's queries, or other instances of the store, held all of them). Nothing was
 * written or claimed; the operation may be tried again.
 */
export class PostgresPoolTimeoutError extends MessagingError {
  /** How long it waited, in ms (the store's `acquireTimeoutMs`). */
  readonly waitedMs: number;

  /**
   * @param purpose - what the connection was for ("a claim").
   * @param waitedMs - how long it waited, in ms.
   * @param pool - the pool's public counters at the time (a `pg.Pool` has them).
   * @param kept - how many of its connections the store keeps for good.
   */
  constructor(purpose: string, waitedMs: number, pool: PoolCounters, kept: number) {
    super(
      `PostgreSQL outbox: no connection of the pool became free within ${String(waitedMs)} ms (acquireTimeoutMs) ` +
        `for ${purpose}; the pool has ${describe(pool)}, ${String(kept)} of them kept by the outbox store for good ` +
        '(LISTEN, lease-owner lock). Give the pool a larger max, hold its connections for shorter, or raise acquireTimeoutMs',
    );
    this.waitedMs = waitedMs;
  }
}

function describe(pool: PoolCounters): string {
  return `${String(pool.totalCount)} connection(s), ${String(pool.idleCount)} idle, ${String(pool.waitingCount)} wait(s) queued`;
}
