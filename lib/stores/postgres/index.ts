// `nestjs-messaging/postgres`: the outbox shared by several instances, able to join transactions (needs `pg`).
export { PostgresOutboxStore, type PostgresOutboxStoreOptions } from './postgres-outbox.store.js';
export { postgresOutboxSchema } from './postgres-outbox.schema.js';
export { PostgresPoolTimeoutError } from './postgres-pool-timeout.error.js';
