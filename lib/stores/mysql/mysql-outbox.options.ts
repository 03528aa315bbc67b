import { MessagingOptionsError } from '../../kernel/messaging.errors.js';
import { DEFAULT_MYSQL_TABLE, MYSQL_TABLE_NAME } from './mysql-outbox.schema.js';

/** Options of `MysqlOutboxStore`: give exactly one of `pool`, `connectionString` and `connection`. */
export interface MysqlOutboxStoreOptions {
  /**
   * A `mysql2` pool the application already has: `mysql2/promise`'s `createPool()`, or the
   * callback API's (its `promise()` is used). Typed loosely so apps without `mysql2` type-check.
   * The store does not end it. It keeps one of its connections for good (the lease-owner lock).
   */
  pool?: object;
  /** A connection URL, `mysql://user:password@host:3306/database`. The store opens and ends its own pool. */
  connectionString?: string;
  /** `mysql2` `PoolOptions` (host, user, database, ssl, connectionLimit, ...). The store opens and ends its own pool. */
  connection?: Readonly<Record<string, unknown>>;
  /**
   * Table name (a lower-case identifier of at most 54 characters: its per-key lock table is
   * `<table>_key_locks`), optionally `database.table`. Default: `nestjs_messaging_outbox`.
   */
  table?: string;
  /** Create or migrate the table at start-up when it is missing or behind (quick starts). Default: `false`. */
  createSchema?: boolean;
  /**
   * MySQL and MariaDB have no LISTEN/NOTIFY: how often, in ms, the store looks for rows that other
   * instances (or transactions it did not see commit) inserted, to wake its dispatcher. One
   * primary-key lookup (`MAX(sequence)`) per interval while a dispatcher watches. Default: `250`.
   */
  pollIntervalMs?: number;
  /**
   * How long, in ms, the store waits for a free connection of the pool (start-up, inserts, claims,
   * settles) before it fails with `MysqlPoolTimeoutError`; also how long a claim or an operator's
   * purge waits for another instance's turn (a named lock). Default: 10000.
   */
  acquireTimeoutMs?: number;
}

/** `MysqlOutboxStoreOptions` checked, with their defaults; typed without `mysql2`. */
export interface ResolvedMysqlOutboxOptions {
  /** The application's pool, or the settings of the pool the store opens (and ends). */
  readonly pool: { readonly given: object } | { readonly config: Readonly<Record<string, unknown>> };
  readonly table: string;
  readonly createSchema: boolean;
  readonly pollIntervalMs: number;
  readonly acquireTimeoutMs: number;
}

const MAX_TIMER_MS = 2_147_483_647;

function isWholeMs(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= MAX_TIMER_MS;
}

/**
 * Checks `options` (as unknown: they often come from environment variables or plain
 * JavaScript) and fills in the defaults.
 * @throws MessagingOptionsError listing every bad option as `name: problem`.
 */
export function resolveMysqlOutboxOptions(options: MysqlOutboxStoreOptions): ResolvedMysqlOutboxOptions {
  const raw = options as unknown as Record<string, unknown>;
  const {
    pool,
    connectionString,
    connection,
    table = DEFAULT_MYSQL_TABLE,
    createSchema = false,
    pollIntervalMs = 250,
    acquireTimeoutMs = 10_000,
  } = raw;
  const issues: string[] = [];
  const given = [pool, connectionString, connection].filter((value) => value !== undefined).length;
  if (given !== 1)
    issues.push(`pool, connectionString, connection: expected exactly one of them, got ${String(given)}`);
  if (connectionString !== undefined && (typeof connectionString !== 'string' || !/^mysql:\/\//.test(connectionString)))
    issues.push(`connectionString: expected a mysql:// URL, got ${JSON.stringify(connectionString)}`);
  if (connection !== undefined && (typeof connection !== 'object' || connection === null))
    issues.push(`connection: expected mysql2 PoolOptions, got ${JSON.stringify(connection)}`);
  if (pool !== undefined && !isMysqlPool(pool)) issues.push('pool: expected a mysql2 Pool');
  if (typeof table !== 'string' || !MYSQL_TABLE_NAME.test(table))
    issues.push(
      `table: expected a lower-case SQL identifier of at most 54 characters, optionally database-qualified, got ${JSON.stringify(table)}`,
    );
  if (typeof createSchema !== 'boolean')
    issues.push(`createSchema: expected true or false, got ${JSON.stringify(createSchema)}`);
  if (!isWholeMs(pollIntervalMs, 10))
    issues.push(
      `pollIntervalMs: expected a whole number of milliseconds from 10 to 2147483647, got ${JSON.stringify(pollIntervalMs)}`,
    );
  if (!isWholeMs(acquireTimeoutMs, 1))
    issues.push(
      `acquireTimeoutMs: expected a whole number of milliseconds from 1 to 2147483647, got ${JSON.stringify(acquireTimeoutMs)}`,
    );
  if (issues.length > 0 || typeof table !== 'string') {
    throw new MessagingOptionsError(issues, 'MysqlOutboxStore options');
  }
  return {
    pool:
      pool !== undefined
        ? { given: pool as object }
        : { config: typeof connectionString === 'string' ? { uri: connectionString } : { ...(connection as object) } },
    table,
    createSchema: createSchema === true,
    pollIntervalMs: pollIntervalMs as number,
    acquireTimeoutMs: acquireTimeoutMs as number,
  };
}

/** A `mysql2/promise` pool (`getConnection()` returns a promise) or a callback pool (`promise()`). */
function isMysqlPool(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { getConnection?: unknown; promise?: unknown };
  return typeof candidate.getConnection === 'function' || typeof candidate.promise === 'function';
}
