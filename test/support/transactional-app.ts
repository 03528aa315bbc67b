import { brokers } from './brokers.js';
import { mysqlUrl } from './outbox-store-kinds.js';

/** The databases the transactional test app runs on. */
export type TransactionalAppDatabase = 'postgres' | 'mariadb';

/**
 * The environment of the transactional test app (test/fixtures/transactional-app) on `orm`: its
 * products and its outbox in the tests' PostgreSQL (or MariaDB) database, announcing on eng.pdc.* of
 * the shared RabbitMQ node.
 */
export function transactionalAppEnv(
  orm: 'typeorm' | 'knex' | 'drizzle',
  tables: { readonly products: string; readonly outbox: string },
  extra: Record<string, string> = {},
  database: TransactionalAppDatabase = 'postgres',
): Record<string, string> {
  const { shared, postgres } = brokers();
  const url = database === 'postgres' ? postgres.url : mysqlUrl();
  return {
    TX_ORM: orm,
    DATABASE_URL: url,
    PRODUCTS_TABLE: tables.products,
    MESSAGE_OUTBOX: database === 'postgres' ? 'postgres' : 'mysql',
    MESSAGE_OUTBOX_URL: url,
    MESSAGE_OUTBOX_TABLE: tables.outbox,
    MESSAGE_BUS_BACKEND: 'amqp',
    MESSAGE_BUS_URLS: shared.url,
    MESSAGE_BUS_ADDRESS: '/topic/{prefix}{topic}',
    MESSAGE_BUS_TOPIC_PREFIX: 'eng.pdc',
    MESSAGE_BUS_USERNAME: 'guest',
    MESSAGE_BUS_PASSWORD: 'guest',
    ...extra,
  };
}
