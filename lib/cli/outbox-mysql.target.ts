import { loadMysql2 } from '../stores/mysql/load-mysql2.js';
import { resolveMysqlOutboxOptions } from '../stores/mysql/mysql-outbox.options.js';
import { migrateMysqlOutbox, mysqlSchemaStatus } from '../stores/mysql/mysql-schema.migrator.js';
import type { SchemaTarget } from './outbox-schema.command.js';

/**
 * `outbox status | migrate --mysql <url>`: one connection to the MySQL/MariaDB database, without
 * the store (which refuses a table behind), with the store's option checks.
 * @throws MessagingOptionsError for a bad URL or table name; Error (as a rejection) when MySQL cannot be reached.
 */
export async function mysqlSchemaTarget(url: string, tableOption: string | undefined): Promise<SchemaTarget> {
  const { table } = resolveMysqlOutboxOptions({
    connectionString: url,
    ...(tableOption === undefined ? {} : { table: tableOption }),
  });
  let connection;
  try {
    connection = await loadMysql2().createConnection(url);
  } catch (error) {
    throw new Error(`Cannot reach MySQL: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return {
    table,
    status: () => mysqlSchemaStatus(connection, table),
    migrate: () => migrateMysqlOutbox(connection, table),
    close: () => connection.end(),
  };
}
