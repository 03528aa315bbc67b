import { createRequire } from 'node:module';
import type * as Mysql from 'mysql2/promise';
import { MessagingError } from '../../kernel/messaging.errors.js';

/** Loads the optional `mysql2` peer dependency (its promise API), only when a MysqlOutboxStore opens. */
export function loadMysql2(): typeof Mysql {
  try {
    // Synchronous, like the other stores: the store is built in a constructor.
    return createRequire(import.meta.url)('mysql2/promise') as typeof Mysql;
  } catch (error) {
    throw new MessagingError(
      `MysqlOutboxStore needs the "mysql2" package: npm install mysql2. ` +
        `Loading it failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
