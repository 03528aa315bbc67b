import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { OutboxAdminStore, OutboxFilter } from '../kernel/outbox-admin-store.interface.js';
import type { OutboxEntry, OutboxStatus } from '../kernel/outbox-entry.interface.js';
import { PostgresOutboxStore } from '../stores/postgres/postgres-outbox.store.js';
import { isSqliteBusy, SqliteBusyError } from '../stores/sqlite/sqlite-busy.js';
import { SqliteOutboxStore } from '../stores/sqlite/sqlite-outbox.store.js';

/** A store the command opened, and closes: the operators' half of it is all the commands use. */
type OpenedStore = OutboxAdminStore & { close(): Promise<void> };

/** What a command printed and how it ended. */
export interface CommandResult {
  readonly exitCode: number;
  readonly output: string;
}

export const USAGE = `Usage: nestjs-messaging outbox <command> (--db <file> | --postgres <url>) [options]

Commands:
  stats                       counts of pending, delivered and dead messages
  list                        messages, oldest first (default: pending ones)
  retry                       make dead messages pending again with fresh attempts (default: all dead ones)
  purge                       delete delivered and/or dead messages (never pending ones)

Options:
  --db <file>                 the SQLite outbox file
  --postgres <url>            the PostgreSQL outbox: postgres://user@host:5432/database
  --table <name>              the outbox table (default: nestjs_messaging_outbox)
  --status <status>           list: pending, delivered or dead; purge: delivered or dead (default: both)
  --topic <topic>             only messages on this topic
  --id <id>                   only this message (repeatable)
  --older-than <age>          purge: only those settled this long ago: 30s, 15m, 12h, 7d (default: 0)
  --limit <n>                 list: at most n messages (default: 100)
  --json                      list: one JSON object per line
  --busy-timeout <ms>         --db: how long to wait for another process's lock on the file,
                              such as the running application's write (default: 5000)
`;

const STATUSES: readonly OutboxStatus[] = ['pending', 'delivered', 'dead'];
const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

class UsageError extends Error {}

/** Runs `outbox <command>` with `args` (after the program name); never exits the process. */
export async function runOutboxCommand(args: readonly string[]): Promise<CommandResult> {
  let parsed;
  try {
    parsed = parse(args);
  } catch (error) {
    return { exitCode: 2, output: `${error instanceof Error ? error.message : String(error)}\n\n${USAGE}` };
  }
  if (parsed === 'help') return { exitCode: 0, output: USAGE };
  // An operator's typo must not create an empty outbox that then looks healthy.
  if (parsed.db !== undefined && !existsSync(parsed.db)) {
    return { exitCode: 1, output: `No outbox file at ${parsed.db}\n` };
  }
  let store: OpenedStore | undefined;
  try {
    store = await open(parsed);
    return { exitCode: 0, output: await execute(store, parsed) };
  } catch (error) {
    // The store's own text names busyTimeoutMs, an option of the application's: say it in the command's terms.
    if (error instanceof SqliteBusyError || isSqliteBusy(error)) return { exitCode: 1, output: busyMessage(parsed) };
    return { exitCode: 1, output: `${error instanceof Error ? error.message : String(error)}\n` };
  } finally {
    await store?.close();
  }
}

async function open(parsed: Parsed): Promise<OpenedStore> {
  const table = parsed.table === undefined ? {} : { table: parsed.table };
  if (parsed.db !== undefined)
    return new SqliteOutboxStore({ path: parsed.db, busyTimeoutMs: parsed.busyTimeoutMs, ...table });
  const store = new PostgresOutboxStore({ connectionString: parsed.postgres, listen: false, ...table });
  try {
    // Connects and checks the table: never creates one.
    await store.onModuleInit();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

interface Parsed {
  readonly command: 'stats' | 'list' | 'retry' | 'purge';
  readonly db: string | undefined;
  readonly postgres: string;
  readonly table: string | undefined;
  readonly filter: OutboxFilter;
  readonly olderThanMs: number;
  readonly limit: number;
  readonly json: boolean;
  /** `--busy-timeout`, in ms. */
  readonly busyTimeoutMs: number;
}

function parse(args: readonly string[]): Parsed | 'help' {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      postgres: { type: 'string' },
      table: { type: 'string' },
      status: { type: 'string' },
      topic: { type: 'string' },
      id: { type: 'string', multiple: true },
      'older-than': { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      'busy-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const group = positionals.at(0);
  const command = positionals.at(1);
  const extra = positionals.slice(2);
  if (group !== 'outbox')
    throw new UsageError(`Unknown command group ${JSON.stringify(group ?? '')}: expected "outbox"`);
  if (command !== 'stats' && command !== 'list' && command !== 'retry' && command !== 'purge')
    throw new UsageError(`Unknown command ${JSON.stringify(command ?? '')}: expected stats, list, retry or purge`);
  if (extra.length > 0) throw new UsageError(`Unexpected argument ${JSON.stringify(extra[0])}`);
  if ((values.db === undefined) === (values.postgres === undefined))
    throw new UsageError('Give the outbox: --db <file> (SQLite) or --postgres <url> (PostgreSQL), one of them');
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
    command,
    db: values.db,
    postgres: values.postgres ?? '',
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

/** SQLite's busy error (while opening, or from the store) in the command's terms. */
function busyMessage(parsed: Parsed): string {
  return (
    `SQLite ${String(parsed.db)}: another process (the running application?) held the outbox's lock for longer ` +
    `than --busy-timeout (${String(parsed.busyTimeoutMs)} ms); nothing was changed. Try again, or give it longer: ` +
    `--busy-timeout <ms>.\n`
  );
}

function parseAge(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  if (match === null)
    throw new UsageError(`--older-than: expected an age such as 30s, 15m, 12h or 7d, got ${JSON.stringify(text)}`);
  return Number(match[1]) * UNITS[match.at(2) ?? 'ms'];
}

async function execute(store: OutboxAdminStore, parsed: Parsed): Promise<string> {
  const now = Date.now();
  switch (parsed.command) {
    case 'stats': {
      const { pending, delivered, dead } = await store.counts();
      return `pending ${pending}\ndelivered ${delivered}\ndead ${dead}\n`;
    }
    case 'list': {
      const entries = await store.list(parsed.filter, parsed.limit);
      if (parsed.json) return entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
      return entries.length === 0 ? 'No messages match.\n' : entries.map(describeEntry).join('');
    }
    case 'retry': {
      const count = await store.retry(parsed.filter, now);
      return `${count} dead message(s) made pending again; a running application sends them within its poll interval.\n`;
    }
    case 'purge': {
      const count = await store.purge({ ...parsed.filter, before: now - parsed.olderThanMs });
      return `${count} message(s) purged.\n`;
    }
  }
}

function describeEntry(entry: OutboxEntry): string {
  const { message } = entry;
  const when =
    entry.status === 'pending'
      ? `next attempt ${new Date(entry.nextAttemptAt).toISOString()}`
      : `${entry.status} ${new Date(entry.settledAt ?? entry.createdAt).toISOString()}`;
  const error = entry.lastError === undefined ? '' : `\n    last error: ${entry.lastError}`;
  return `${message.id}  ${message.topic}  ${entry.status}  attempts ${entry.attempts}  ${when}${error}\n`;
}
