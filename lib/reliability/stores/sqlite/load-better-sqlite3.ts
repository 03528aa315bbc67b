import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { MessagingError } from '../../../core/messaging.errors.js';

/** Loads the optional `better-sqlite3` peer dependency, only when a SqliteOutboxStore opens. */
export function loadBetterSqlite3(): typeof BetterSqlite3 {
  try {
    // Synchronous on purpose: the store opens in its constructor, so a bad path fails at start-up.
    return createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  } catch (error) {
    throw new MessagingError(
      `SqliteOutboxStore needs the "better-sqlite3" package (version 12 on Node.js 20): npm install better-sqlite3@12. ` +
        `Loading it failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
