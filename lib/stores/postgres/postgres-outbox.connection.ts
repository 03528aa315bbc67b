import { Logger } from '@nestjs/common';
import type { ClientBase, ClientConfig, Pool, PoolClient, QueryResultRow } from 'pg';
import type * as Pg from 'pg';
import { MessagingError, MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { loadPg } from './load-pg.js';
import { PostgresClock } from './postgres-clock.js';
import { PostgresNotifications } from './postgres-notifications.js';
import { PostgresPoolCheckout } from './postgres-pool.checkout.js';
import type { ResolvedPostgresOutboxOptions } from './postgres-outbox.options.js';
import { notificationChannel, postgresOutboxSchema } from './postgres-outbox.schema.js';

/** A connection outside the pool's rotation (LISTEN, a lease owner's lock), kept until `end()`. */
export interface DedicatedConnection {
  readonly client: ClientBase;
  /** Closes it (a client of the application's pool is destroyed, not returned: it may hold a lock). */
  end(): Promise<void>;
}

/**
 * The PostgreSQL store's pool, clock and LISTEN connection, and its lazy
 * start: the first use (or `onModuleInit()`) connects, creates the schema if
 * asked, checks the table and starts listening; a failed start is tried
 * again at the next use.
 */
export class PostgresOutboxConnection {
  readonly pool: Pool;
  /** This process's clock translated into the database's. */
  readonly clock: PostgresClock;
  readonly table: string;
  private readonly ownsPool: boolean;
  private readonly pg: typeof Pg;
  /** The settings of the pool the store opened; `undefined` for the application's pool. */
  private readonly config: ClientConfig | undefined;
  private readonly createSchema: boolean;
  private readonly notifications: PostgresNotifications | undefined;
  /** Every wait for a connection of the pool is bounded (`acquireTimeoutMs`). */
  private readonly checkout: PostgresPoolCheckout;
  private ready: Promise<void> | undefined;
  private closed = false;

  /**
   * Opens no connection yet. Loads `pg`.
   * @param onNotification - called when any process inserted messages (with `listen`), and when LISTEN (re)connects.
   * @throws MessagingError when `pg` is not installed.
   */
  constructor(options: ResolvedPostgresOutboxOptions, onNotification: () => void) {
    const pg = (this.pg = loadPg());
    this.table = options.table;
    this.createSchema = options.createSchema;
    this.ownsPool = !('given' in options.pool);
    this.config = 'config' in options.pool ? options.pool.config : undefined;
    this.pool = 'given' in options.pool ? (options.pool.given as Pool) : new pg.Pool(options.pool.config);
    if (this.ownsPool) {
      // An idle client's error (the server restarted) must not crash the process; the next query
      // reconnects. (The application's own pool is the application's to watch.)
      const logger = new Logger('PostgresOutboxStore');
      this.pool.on('error', (error) => {
        logger.warn(
          `An idle PostgreSQL connection of the outbox pool failed (${error.message}); the next query reconnects`,
        );
      });
    }
    this.checkout = new PostgresPoolCheckout(this.pool, options.acquireTimeoutMs);
    this.clock = new PostgresClock((purpose, text) => this.query<{ now: number }>(purpose, text));
    this.notifications = options.listen
      ? new PostgresNotifications(() => this.dedicated('LISTEN'), notificationChannel(this.table), onNotification)
      : undefined;
  }

  /**
   * Resolves once the store is started (at once after the first success).
   * @throws MessagingOptionsError (as a rejection) when PostgreSQL cannot be reached, or the table is missing.
   */
  whenReady(): Promise<void> {
    this.ready ??= this.open().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  /**
   * Runs one statement on a client of the pool (`purpose` names it in errors).
   * @throws PostgresPoolTimeoutError or MessagingOptionsError (as a rejection) when no connection comes; see `PostgresPoolCheckout`.
   */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the rows' shape, as pg's own query<R>
  async query<R extends QueryResultRow>(
    purpose: string,
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    const client = await this.checkout.connect(purpose);
    try {
      const result = await client.query<R>(text, values);
      client.release();
      return result;
    } catch (error) {
      // As pg's pool.query: a client whose query failed is not reused (its connection may be broken).
      client.release(true);
      throw error;
    }
  }

  /**
   * Runs `work` in a transaction on one client: committed if it resolves, rolled back if it
   * throws. `opening`, SQL without parameters, runs first in the same round trip as `BEGIN`.
   */
  async inTransaction<T>(purpose: string, work: (client: PoolClient) => Promise<T>, opening?: string): Promise<T> {
    const client = await this.checkout.connect(purpose);
    try {
      await client.query(opening === undefined ? 'BEGIN' : `BEGIN; ${opening}`);
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

  /**
   * Opens a connection of its own: a new client with the store's settings, or, for the
   * application's pool (whose settings are its own), a client checked out of it for good.
   * @throws Error (as a rejection) from `pg` when it cannot connect; see `query()` for the application's pool.
   */
  async dedicated(purpose: string): Promise<DedicatedConnection> {
    if (this.config === undefined) return this.checkout.keep(purpose);
    const client = new this.pg.Client(this.config);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return { client, end: () => client.end() };
  }

  /** Stops listening and ends the pool the store opened (not one it was given). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.notifications?.close();
    if (this.ownsPool) await this.pool.end();
  }

  private async open(): Promise<void> {
    let exists: boolean;
    try {
      exists = await this.tableExists();
    } catch (error) {
      if (error instanceof MessagingError) throw error;
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
      await this.inTransaction('creating the schema', async (client) => {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1), 0)', [this.table]);
        if (!(await this.tableExists(client))) await client.query(postgresOutboxSchema(this.table));
      });
    }
    if (!(await this.tableExists())) {
      throw new MessagingOptionsError(
        [
          `table: ${this.table} does not exist; run the SQL of postgresOutboxSchema() in a migration, or set createSchema: true`,
        ],
        'PostgresOutboxStore options',
      );
    }
    await this.clock.refresh();
    if (!this.ownsPool) await this.probe();
    void this.notifications?.start();
  }

  /**
   * The application's pool must give the store, at once, the connections it keeps for good
   * (LISTEN, one lease-owner lock) and one for its queries: checked at start-up, where a pool
   * too small for that fails with an error naming `pool` rather than a start that hangs.
   */
  private async probe(): Promise<void> {
    const keeps = this.notifications === undefined ? 1 : 2;
    const held: PoolClient[] = [];
    const holding = (): number => held.length;
    const results = await Promise.allSettled(
      Array.from({ length: keeps + 1 }, async () => {
        const client = await this.checkout.connect('start-up', { holding, keeps });
        held.push(client);
        this.checkout.recheck();
      }),
    );
    for (const client of held) client.release();
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  private async tableExists(client?: PoolClient): Promise<boolean> {
    const text = 'SELECT to_regclass($1) IS NOT NULL AS exists';
    const { rows } =
      client === undefined
        ? await this.query<{ exists: boolean }>('start-up', text, [this.table])
        : await client.query<{ exists: boolean }>(text, [this.table]);
    return rows[0]?.exists;
  }
}
