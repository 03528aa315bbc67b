// `nestjs-messaging/postgres`: the outbox shared by several instances, able to join transactions (needs `pg`).
export { PostgresOutboxStore, type PostgresOutboxStoreOptions } from './postgres-outbox.store.js';
export { postgresOutboxMigrations, postgresOutboxSchema } from './postgres-outbox.schema.js';
export type { OutboxMigration } from '../schema-version.js';
export { PostgresPoolTimeoutError } from './postgres-pool-timeout.error.js';
