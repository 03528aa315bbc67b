import { createRequire } from 'node:module';
import type * as Pg from 'pg';
import { MessagingError } from '../../kernel/messaging.errors.js';

/** Loads the optional `pg` peer dependency, only when a PostgresOutboxStore opens. */
export function loadPg(): typeof Pg {
  try {
    // Synchronous, like the SQLite store: the store is built in a constructor.
    return createRequire(import.meta.url)('pg') as typeof Pg;
  } catch (error) {
    throw new MessagingError(
      `PostgresOutboxStore needs the "pg" package: npm install pg. ` +
        `Loading it failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
