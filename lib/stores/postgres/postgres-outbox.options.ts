import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { DEFAULT_POSTGRES_TABLE, POSTGRES_TABLE_NAME } from './postgres-outbox.schema.js';

/** Options of `PostgresOutboxStore`: give exactly one of `pool`, `connectionString` and `connection`. */
export interface PostgresOutboxStoreOptions {
  /** A `pg` `Pool` the application already has (typed loosely so apps without `pg` type-check). The store does not end it. */
  pool?: object;
  /** A connection string, `postgres://user@host:5432/db`. The store opens and ends its own pool. */
  connectionString?: string;
  /** `pg` `PoolConfig` settings (host, user, ssl, max, ...). The store opens and ends its own pool. */
  connection?: Readonly<Record<string, unknown>>;
  /** Table name, optionally `schema.table`. Default: `nestjs_messaging_outbox`. */
  table?: string;
  /** Create the table, indexes and trigger at start-up if missing (quick starts). Default: `false`: run the migration. */
  createSchema?: boolean;
  /** LISTEN for inserts, so dispatchers wake as soon as messages commit (polling stays as a fallback). Default: `true`. */
  listen?: boolean;
  /**
   * How long, in ms, the store waits for a free connection of the pool (start-up, inserts, claims,
   * settles) before it fails with `PostgresPoolTimeoutError`. A wait that could never end (the
   * application's pool is full of the store's own kept connections) fails at once, naming `pool`.
   * With `connectionString` or `connection` (without its own `lock_timeout`), also the most an
   * insert waits for its ordering keys' locks (PostgreSQL `lock_timeout`), which another
   * transaction holds until it ends: `append()` then fails with `OutboxWriteError`.
   * Default: 10000.
   */
  acquireTimeoutMs?: number;
}

/**
 * `PostgresOutboxStoreOptions` checked, with their defaults. Typed without `pg`
 * (the store's public declarations must not need it): `given` is a `pg` `Pool`,
 * `config` a `pg` `PoolConfig`.
 */
export interface ResolvedPostgresOutboxOptions {
  /** The application's pool, or the settings of the pool the store opens (and ends). */
  readonly pool: { readonly given: object } | { readonly config: Readonly<Record<string, unknown>> };
  readonly table: string;
  readonly createSchema: boolean;
  readonly listen: boolean;
  readonly acquireTimeoutMs: number;
}

/**
 * Checks `options` (as unknown: they often come from environment variables or
 * plain JavaScript) and fills in the defaults.
 * @throws MessagingOptionsError listing every bad option as `name: problem`.
 */
export function resolvePostgresOutboxOptions(options: PostgresOutboxStoreOptions): ResolvedPostgresOutboxOptions {
  const raw = options as unknown as Record<string, unknown>;
  const {
    pool,
    connectionString,
    connection,
    table = DEFAULT_POSTGRES_TABLE,
    createSchema = false,
    listen = true,
    acquireTimeoutMs = 10_000,
  } = raw;
  const issues: string[] = [];
  const given = [pool, connectionString, connection].filter((value) => value !== undefined).length;
  if (given !== 1)
    issues.push(`pool, connectionString, connection: expected exactly one of them, got ${String(given)}`);
  if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === ''))
    issues.push(`connectionString: expected a postgres:// URL, got ${JSON.stringify(connectionString)}`);
  if (connection !== undefined && (typeof connection !== 'object' || connection === null))
    issues.push(`connection: expected pg PoolConfig, got ${JSON.stringify(connection)}`);
  if (
    pool !== undefined &&
    (typeof pool !== 'object' || pool === null || typeof (pool as { connect?: unknown }).connect !== 'function')
  )
    issues.push('pool: expected a pg Pool');
  if (typeof table !== 'string' || !POSTGRES_TABLE_NAME.test(table))
    issues.push(
      `table: expected a lower-case SQL identifier, optionally schema-qualified, got ${JSON.stringify(table)}`,
    );
  if (typeof createSchema !== 'boolean')
    issues.push(`createSchema: expected true or false, got ${JSON.stringify(createSchema)}`);
  if (typeof listen !== 'boolean') issues.push(`listen: expected true or false, got ${JSON.stringify(listen)}`);
  if (
    typeof acquireTimeoutMs !== 'number' ||
    !Number.isInteger(acquireTimeoutMs) ||
    acquireTimeoutMs < 1 ||
    acquireTimeoutMs > 2_147_483_647
  )
    issues.push(
      `acquireTimeoutMs: expected a whole number of milliseconds from 1 to 2147483647, got ${JSON.stringify(acquireTimeoutMs)}`,
    );
  if (issues.length > 0 || typeof table !== 'string' || typeof acquireTimeoutMs !== 'number') {
    throw new MessagingOptionsError(issues, 'PostgresOutboxStore options');
  }
  return {
    pool:
      pool !== undefined
        ? { given: pool as object }
        : { config: typeof connectionString === 'string' ? { connectionString } : { ...(connection as object) } },
    table,
    createSchema: createSchema === true,
    listen: listen === true,
    acquireTimeoutMs,
  };
}
