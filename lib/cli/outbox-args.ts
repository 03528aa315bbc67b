import { parseArgs } from 'node:util';
import type { OutboxFilter } from '../kernel/outbox-admin-store.interface.js';
import type { OutboxStatus } from '../kernel/outbox-entry.interface.js';

// The command line of `npx nestjs-messaging outbox`: usage text and parsing.

export const USAGE = `Usage: nestjs-messaging outbox <command> (--db <file> | --postgres <url> | --mysql <url>) [options]
       nestjs-messaging outbox sql --dialect <postgres|mysql|sqlite> [--table <name>] [--from <version>]

Commands:
  stats                       counts of pending, delivered and dead messages
  list                        messages, oldest first (default: pending ones)
  retry                       make dead messages pending again with fresh attempts (default: all dead ones)
  purge                       delete delivered and/or dead messages (never pending ones)
  status                      the table's schema version against this version's (exit 1 when behind or missing)
  migrate                     bring the table to this version's schema (creates it if missing)
  sql                         print the migrations' SQL, for your own migration tool

Options:
  --db <file>                 the SQLite outbox file
  --postgres <url>            the PostgreSQL outbox: postgres://user@host:5432/database
  --mysql <url>               the MySQL/MariaDB outbox: mysql://user:password@host:3306/database
  --table <name>              the outbox table (default: nestjs_messaging_outbox)
  --status <status>           list: pending, delivered or dead; purge: delivered or dead (default: both)
  --topic <topic>             only messages on this topic
  --id <id>                   only this message (repeatable)
  --older-than <age>          purge: only those settled this long ago: 30s, 15m, 12h, 7d (default: 0)
  --limit <n>                 list: at most n messages (default: 100)
  --json                      list: one JSON object per line
  --dialect <name>            sql: postgres, mysql (MySQL and MariaDB) or sqlite
  --from <version>            sql: only the migrations above this schema version (default: 0, all)
  --busy-timeout <ms>         --db: how long to wait for another process's lock on the file,
                              such as the running application's write (default: 5000)
`;

const STATUSES: readonly OutboxStatus[] = ['pending', 'delivered', 'dead'];
const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A command line that cannot be run: printed with the usage, exit code 2. */
export class UsageError extends Error {}

const COMMANDS = ['stats', 'list', 'retry', 'purge', 'status', 'migrate', 'sql'] as const;

/** A command line, checked. */
export interface Parsed {
  readonly command: (typeof COMMANDS)[number];
  /** `sql`: the dialect (`--dialect`, or the one of `--db` / `--postgres` / `--mysql`). */
  readonly dialect: SqlDialect;
  /** `sql`: print the migrations above this version. */
  readonly from: number;
  readonly db: string | undefined;
  readonly postgres: string;
  /** `--mysql`: the MySQL/MariaDB URL, or `undefined`. */
  readonly mysql: string | undefined;
  readonly table: string | undefined;
  readonly filter: OutboxFilter;
  readonly olderThanMs: number;
  readonly limit: number;
  readonly json: boolean;
  /** `--busy-timeout`, in ms. */
  readonly busyTimeoutMs: number;
}

/** Parses `args` (after the program name). @throws UsageError naming the bad argument. */
export function parse(args: readonly string[]): Parsed | 'help' {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      postgres: { type: 'string' },
      mysql: { type: 'string' },
      table: { type: 'string' },
      status: { type: 'string' },
      topic: { type: 'string' },
      id: { type: 'string', multiple: true },
      'older-than': { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      'busy-timeout': { type: 'string' },
      dialect: { type: 'string' },
      from: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const group = positionals.at(0);
  const command = positionals.at(1);
  const extra = positionals.slice(2);
  if (group !== 'outbox')
    throw new UsageError(`Unknown command group ${JSON.stringify(group ?? '')}: expected "outbox"`);
  if (!COMMANDS.some((known) => known === command))
    throw new UsageError(`Unknown command ${JSON.stringify(command ?? '')}: expected ${COMMANDS.join(', ')}`);
  if (extra.length > 0) throw new UsageError(`Unexpected argument ${JSON.stringify(extra[0])}`);
  const { dialect, from } = parseSqlOptions(command as Parsed['command'], values);
  const targets = [values.db, values.postgres, values.mysql].filter((value) => value !== undefined).length;
  if (command !== 'sql' && targets !== 1)
    throw new UsageError(
      'Give the outbox: --db <file> (SQLite), --postgres <url> (PostgreSQL) or --mysql <url> (MySQL/MariaDB), one of them',
    );
  const status = values.status as OutboxStatus | undefined;
  if (status !== undefined && !STATUSES.includes(status))
    throw new UsageError(`--status: expected pending, delivered or dead, got ${JSON.stringify(status)}`);
  if (command === 'purge' && status === 'pending')
    throw new UsageError('--status: purge never deletes pending messages');
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit: expected a whole number >= 1, got ${values.limit}`);
  const busyText = values['busy-timeout'];
  if (busyText !== undefined && values.db === undefined)
    throw new UsageError('--busy-timeout: only for a SQLite outbox (--db)');
  const busyTimeoutMs = busyText === undefined ? 5000 : Number(busyText);
  if (busyText?.trim() === '' || !Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0)
    throw new UsageError(`--busy-timeout: expected a whole number of milliseconds >= 0, got ${String(busyText)}`);
  return {
    command: command as Parsed['command'],
    dialect,
    from,
    db: values.db,
    postgres: values.postgres ?? '',
    mysql: values.mysql,
    table: values.table,
    filter: {
      ...(status === undefined ? (command === 'list' ? { status: 'pending' as const } : {}) : { status }),
      ...(values.topic === undefined ? {} : { topic: values.topic }),
      ...(values.id === undefined ? {} : { ids: values.id }),
    },
    olderThanMs: values['older-than'] === undefined ? 0 : parseAge(values['older-than']),
    limit,
    json: values.json === true,
    busyTimeoutMs,
  };
}

export function parseAge(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  if (match === null)
    throw new UsageError(`--older-than: expected an age such as 30s, 15m, 12h or 7d, got ${JSON.stringify(text)}`);
  return Number(match[1]) * UNITS[match.at(2) ?? 'ms'];
}

/** The SQL dialects the schema commands know. */
export type SqlDialect = 'postgres' | 'mysql' | 'sqlite';

/** The dialect of the outbox the command line names (`--db`, `--mysql`, else PostgreSQL). */
function dialectOf(values: { db?: string; postgres?: string; mysql?: string }): SqlDialect {
  return values.db !== undefined ? 'sqlite' : values.mysql !== undefined ? 'mysql' : 'postgres';
}

/** `--dialect` and `--from`, for `sql` only; the dialect defaults to that of `--db` / `--postgres` / `--mysql`. */
function parseSqlOptions(
  command: Parsed['command'],
  values: { dialect?: string; from?: string; db?: string; postgres?: string; mysql?: string },
): { dialect: SqlDialect; from: number } {
  if (command !== 'sql') {
    if (values.dialect !== undefined || values.from !== undefined)
      throw new UsageError('--dialect, --from: only for the sql command');
    return { dialect: dialectOf(values), from: 0 };
  }
  const named = values.db !== undefined || values.postgres !== undefined || values.mysql !== undefined;
  const dialect = values.dialect ?? (named ? dialectOf(values) : '');
  if (dialect !== 'postgres' && dialect !== 'mysql' && dialect !== 'sqlite')
    throw new UsageError(`--dialect: expected postgres, mysql or sqlite, got ${JSON.stringify(values.dialect ?? '')}`);
  const from = values.from === undefined ? 0 : Number(values.from);
  if (values.from?.trim() === '' || !Number.isInteger(from) || from < 0)
    throw new UsageError(`--from: expected a schema version (a whole number >= 0), got ${String(values.from)}`);
  return { dialect, from };
}
