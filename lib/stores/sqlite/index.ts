// `nestjs-messaging/sqlite`: the durable single-instance outbox (needs the optional peer `better-sqlite3` 13).
export { SqliteBusyError, SqliteOutboxStore, type SqliteOutboxStoreOptions } from './sqlite-outbox.store.js';
export { sqliteOutboxMigrations, sqliteOutboxSchema } from './sqlite-outbox.schema.js';
export type { OutboxMigration } from '../schema-version.js';
