import { MessagingOptionsError } from '../../kernel/messaging.errors.js';

/** Options of `SqliteOutboxStore`. */
export interface SqliteOutboxStoreOptions {
  /** The database file, created if missing (its folder must exist). Required. */
  path: string;
  /**
   * `full`: a stored message survives the machine losing power. The write-ahead
   * log is synced off the event loop, once for all the requests committed
   * meanwhile, before their responses go out. `normal`: it survives the
   * process dying, not the OS; responses do not wait for the disk. Default: `full`.
   */
  synchronous?: 'full' | 'normal';
  /** Table name. Default: `nestjs_messaging_outbox`. */
  table?: string;
  /**
   * How long an operation waits for another process's lock (the CLI, say), in
   * ms, on a timer (the event loop keeps running); then it fails with nothing
   * written (`OutboxWriteError` for appends, `SqliteBusyError` otherwise).
   * Opening the store waits as long, at start-up. Default: `5000`.
   */
  busyTimeoutMs?: number;
  /**
   * Create the table, or migrate it to this version's schema, at start-up (in one transaction,
   * under SQLite's write lock). `false`: refuse to start on a table missing or at an older
   * schema version, naming the command that migrates it. Default: `true`.
   */
  createSchema?: boolean;
}

/** `SqliteOutboxStoreOptions` checked, with their defaults. */
export type ResolvedSqliteOutboxOptions = Readonly<Required<SqliteOutboxStoreOptions>>;

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Checks `options` (as unknown: they often come from environment variables or
 * plain JavaScript) and fills in the defaults.
 * @throws MessagingOptionsError listing every bad option as `name: problem`.
 */
export function resolveSqliteOutboxOptions(options: SqliteOutboxStoreOptions): ResolvedSqliteOutboxOptions {
  const raw = options as unknown as Record<string, unknown>;
  const {
    path,
    synchronous = 'full',
    table = 'nestjs_messaging_outbox',
    busyTimeoutMs = 5000,
    createSchema = true,
  } = raw;
  const issues: string[] = [];
  if (typeof path !== 'string' || path === '') issues.push(`path: expected a file path, got ${JSON.stringify(path)}`);
  if (synchronous !== 'full' && synchronous !== 'normal')
    issues.push(`synchronous: expected "full" or "normal", got ${JSON.stringify(synchronous)}`);
  if (typeof table !== 'string' || !TABLE_NAME.test(table))
    issues.push(`table: expected an SQL identifier (letters, digits, _), got ${JSON.stringify(table)}`);
  if (typeof busyTimeoutMs !== 'number' || !Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0)
    issues.push(`busyTimeoutMs: expected a whole number of milliseconds >= 0, got ${JSON.stringify(busyTimeoutMs)}`);
  if (typeof createSchema !== 'boolean')
    issues.push(`createSchema: expected true or false, got ${JSON.stringify(createSchema)}`);
  if (
    issues.length > 0 ||
    typeof path !== 'string' ||
    typeof table !== 'string' ||
    typeof busyTimeoutMs !== 'number' ||
    (synchronous !== 'full' && synchronous !== 'normal')
  ) {
    throw new MessagingOptionsError(issues, 'SqliteOutboxStore options');
  }
  return { path, synchronous, table, busyTimeoutMs, createSchema: createSchema === true };
}
