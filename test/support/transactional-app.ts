import { brokers } from './brokers.js';

/**
 * The environment of the transactional test app (test/fixtures/transactional-app) on `orm`: its
 * products and its outbox in the tests' PostgreSQL database, announcing on eng.pdc.* of the shared
 * RabbitMQ node.
 */
export function transactionalAppEnv(
  orm: 'typeorm' | 'knex' | 'drizzle',
  tables: { readonly products: string; readonly outbox: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  const { shared, postgres } = brokers();
  return {
    TX_ORM: orm,
    DATABASE_URL: postgres.url,
    PRODUCTS_TABLE: tables.products,
    MESSAGE_OUTBOX: 'postgres',
    MESSAGE_OUTBOX_URL: postgres.url,
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
