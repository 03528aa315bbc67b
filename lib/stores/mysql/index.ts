// `nestjs-messaging/mysql`: the outbox in MySQL 8+ or MariaDB 10.6+, shared by several instances, able to join transactions (needs `mysql2`).
export { MysqlOutboxStore, type MysqlOutboxStoreOptions } from './mysql-outbox.store.js';
export { mysqlOutboxMigrations, mysqlOutboxSchema } from './mysql-outbox.schema.js';
export type { OutboxMigration } from '../schema-version.js';
export { MysqlPoolTimeoutError } from './mysql-pool-timeout.error.js';
