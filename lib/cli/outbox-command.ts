import { existsSync } from 'node:fs';
import type { OutboxAdminStore } from '../kernel/outbox-admin-store.interface.js';
import type { OutboxEntry } from '../kernel/outbox-entry.interface.js';
import { MysqlOutboxStore } from '../stores/mysql/mysql-outbox.store.js';
import { PostgresOutboxStore } from '../stores/postgres/postgres-outbox.store.js';
import { isSqliteBusy, SqliteBusyError } from '../stores/sqlite/sqlite-busy.js';
import { SqliteOutboxStore } from '../stores/sqlite/sqlite-outbox.store.js';
import { parse, USAGE, type Parsed } from './outbox-args.js';
import { runSchemaCommand } from './outbox-schema.command.js';

export { USAGE } from './outbox-args.js';

/** A store the command opened, and closes: the operators' half of it is all the commands use. */
type OpenedStore = OutboxAdminStore & { close(): Promise<void> };

/** What a command printed and how it ended. */
export interface CommandResult {
  readonly exitCode: number;
  readonly output: string;
}

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
  if (parsed.command === 'sql' || parsed.command === 'status' || parsed.command === 'migrate') {
    try {
      return await runSchemaCommand(parsed);
    } catch (error) {
      if (error instanceof SqliteBusyError || isSqliteBusy(error)) return { exitCode: 1, output: busyMessage(parsed) };
      return { exitCode: 1, output: `${error instanceof Error ? error.message : String(error)}\n` };
    }
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
    // Never migrates: a file the running application (maybe an older version) uses.
    return new SqliteOutboxStore({
      path: parsed.db,
      busyTimeoutMs: parsed.busyTimeoutMs,
      createSchema: false,
      ...table,
    });
  const store =
    parsed.mysql !== undefined
      ? new MysqlOutboxStore({ connectionString: parsed.mysql, ...table })
      : new PostgresOutboxStore({ connectionString: parsed.postgres, listen: false, ...table });
  try {
    // Connects and checks the table's schema version: never creates nor migrates it.
    await store.onModuleInit();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** SQLite's busy error (while opening, or from the store) in the command's terms. */
function busyMessage(parsed: Parsed): string {
  return (
    `SQLite ${String(parsed.db)}: another process (the running application?) held the outbox's lock for longer ` +
    `than --busy-timeout (${String(parsed.busyTimeoutMs)} ms); nothing was changed. Try again, or give it longer: ` +
    `--busy-timeout <ms>.\n`
  );
}

async function execute(store: OutboxAdminStore, parsed: Parsed): Promise<string> {
  const now = Date.now();
  switch (parsed.command) {
    case 'status':
    case 'migrate':
    case 'sql':
      throw new Error(`${parsed.command} is a schema command`);
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
