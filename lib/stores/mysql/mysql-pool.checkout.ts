import type { Pool, PoolConnection } from 'mysql2/promise';
import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { MysqlPoolTimeoutError } from './mysql-pool-timeout.error.js';

/** A connection the store keeps for good (a lease owner's lock), until `end()` destroys it. */
export interface KeptConnection {
  readonly connection: PoolConnection;
  end(): Promise<void>;
}

/**
 * Checks connections out of the store's pool, never waiting for ever: at most `timeoutMs`, and
 * not at all when every connection the pool may open (`connectionLimit`) is one the store keeps
 * for good (lease-owner locks checked out of the application's pool): such a wait would never end.
 */
export class MysqlPoolCheckout {
  /** Connections checked out for good (`keep()`), until they are ended. */
  private kept = 0;

  constructor(
    private readonly pool: Pool,
    private readonly timeoutMs: number,
  ) {}

  /** The pool's `connectionLimit` (mysql2's default 10 when it cannot be read). */
  get limit(): number {
    const config = (this.pool as unknown as { pool?: { config?: { connectionLimit?: unknown } } }).pool?.config;
    const limit = config?.connectionLimit;
    return typeof limit === 'number' && limit > 0 ? limit : 10;
  }

  /**
   * A connection of the pool, to `release()` after use (or `destroy()` when it may be broken).
   * @param purpose - what it is for, in error messages ("a claim").
   * @throws MysqlPoolTimeoutError (as a rejection) after `timeoutMs` without a free connection.
   * @throws MessagingOptionsError (as a rejection) naming `pool` when the store's own connections fill it.
   */
  async connect(purpose: string): Promise<PoolConnection> {
    if (this.kept >= this.limit) throw starved(purpose, this.limit, this.kept);
    const waiting = this.pool.getConnection();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new MysqlPoolTimeoutError(
            purpose,
            this.timeoutMs,
            `a connection of the pool (connectionLimit ${String(this.limit)}, ${String(this.kept)} kept by the store for good)`,
          ),
        );
      }, this.timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([waiting, timeout]);
    } catch (error) {
      // Given up: the connection, if it ever comes, goes straight back.
      waiting.then(
        (connection) => {
          connection.release();
        },
        () => undefined,
      );
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A connection of the pool kept until the returned `end()` (which destroys it: it holds a lock).
   * @throws as `connect()`.
   */
  async keep(purpose: string): Promise<KeptConnection> {
    const connection = await this.connect(purpose);
    this.kept++;
    let ended = false;
    return {
      connection,
      end: () => {
        if (!ended) {
          ended = true;
          this.kept--;
          connection.destroy();
        }
        return Promise.resolve();
      },
    };
  }
}

/** The store's own connections fill the application's pool: waiting would never end. */
function starved(purpose: string, limit: number, kept: number): MessagingOptionsError {
  return new MessagingOptionsError(
    [
      `pool: MysqlOutboxStore keeps ${String(kept)} connection(s) of the application's pool for good ` +
        `(lease-owner locks) and needs 1 more for its queries, but this pool opens at most ${String(limit)}, ` +
        `so ${purpose} would wait for ever; give it connectionLimit >= ${String(kept + 1)} (plus what the ` +
        "application's own queries need), or pass connectionString or connection so the store opens its own connections",
    ],
    'MysqlOutboxStore options',
  );
}
