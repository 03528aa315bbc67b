import { Logger } from '@nestjs/common';
import type { ClientBase, ClientConfig, Pool, PoolClient, QueryResultRow } from 'pg';
import type * as Pg from 'pg';
import { MessagingError, MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { loadPg } from './load-pg.js';
import { PostgresClock } from './postgres-clock.js';
import { PostgresNotifications } from './postgres-notifications.js';
import { PostgresPoolCheckout } from './postgres-pool.checkout.js';
import type { ResolvedPostgresOutboxOptions } from './postgres-outbox.options.js';
import { notificationChannel } from './postgres-outbox.schema.js';
import {
  migratePostgresOutbox,
  postgresAppendFunctionProblem,
  postgresSchemaStatus,
} from './postgres-schema.migrator.js';
import { schemaAheadWarning, schemaNotReadyError, type SchemaStatus } from '../schema-version.js';

/** A connection outside the pool's rotation (LISTEN, a lease owner's lock), kept until `end()`. */
export interface DedicatedConnection {
  readonly client: ClientBase;
  /** Closes it (a client of the application's pool is destroyed, not returned: it may hold a lock). */
  end(): Promise<void>;
}

/**
 * The PostgreSQL store's pool, clock and LISTEN connection, and its lazy
 * start: the first use (or `onModuleInit()`) connects, migrates the schema if
 * asked (`createSchema`), checks its version and starts listening; a failed
 * start is tried again at the next use.
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
  private readonly logger = new Logger('PostgresOutboxStore');
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
    // A lock wait of the store's own statements is bounded (an insert waits for its ordering keys'
    // locks, which a long transaction may hold): PostgreSQL's lock_timeout, unless the config sets it.
    this.config =
      'config' in options.pool ? { lock_timeout: options.acquireTimeoutMs, ...options.pool.config } : undefined;
    this.pool = 'given' in options.pool ? (options.pool.given as Pool) : new pg.Pool(this.config);
    if (this.ownsPool) {
      // An idle client's error (the server restarted) must not crash the process; the next query
      // reconnects. (The application's own pool is the application's to watch.)
      this.pool.on('error', (error) => {
        this.logger.warn(
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
   * @throws MessagingOptionsError (as a rejection) when PostgreSQL cannot be reached, or the table is
   *   missing or at an older schema version (and `createSchema` is off), naming the versions and the command.
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
    let status: SchemaStatus;
    try {
      status = await this.schemaStatus();
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
    if ((status.state === 'missing' || status.state === 'behind') && this.createSchema) {
      // DDL only when the schema is behind: on a live table it would queue behind (and block) claims.
      const client = await this.checkout.connect('migrating the schema');
      try {
        const { from, to } = await migratePostgresOutbox(client, this.table);
        client.release();
        if (from > 0 && from !== to)
          this.logger.log(`Migrated ${this.table} from schema version ${String(from)} to ${String(to)}`);
      } catch (error) {
        client.release(true);
        throw error;
      }
      status = await this.schemaStatus();
    }
    if (status.state === 'missing' || status.state === 'behind') {
      throw schemaNotReadyError(
        status,
        'PostgresOutboxStore',
        `npx nestjs-messaging outbox migrate --postgres <url> --table ${this.table}`,
      );
    }
    if (status.state === 'ahead') this.logger.warn(schemaAheadWarning(status));
    const problem = await this.startUpQuery((client) => postgresAppendFunctionProblem(client, this.table));
    if (problem !== undefined) throw new MessagingOptionsError([problem], 'PostgresOutboxStore options');
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

  private schemaStatus(): Promise<SchemaStatus> {
    return this.startUpQuery((client) => postgresSchemaStatus(client, this.table));
  }

  private async startUpQuery<T>(run: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.checkout.connect('start-up');
    try {
      const result = await run(client);
      client.release();
      return result;
    } catch (error) {
      client.release(true);
      throw error;
    }
  }
}
