import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { MessagingError } from '../../kernel/messaging.errors.js';

/**
 * The oldest `better-sqlite3` major the store accepts. 12 and older wrap
 * Node's raw `ObjectWrap` and compile for one Node.js ABI; on Node.js 24.19
 * to 24.21 they abort the process (`Assertion failed: (env) != nullptr`) when
 * the garbage collector finalises a statement (Node.js 24.22 fixed it,
 * nodejs/node#63985). 13 is a Node-API addon, prebuilt inside the package.
 */
const MINIMUM_MAJOR = 13;

/**
 * Loads the optional `better-sqlite3` peer dependency, only when a SqliteOutboxStore opens.
 * Synchronous on purpose: the store opens in its constructor, so a bad installation fails at start-up.
 * @param require - resolves the package; default: from this file (tests point it elsewhere).
 * @throws MessagingError when it is missing, older than version 13, or fails to load.
 */
export function loadBetterSqlite3(require: NodeJS.Require = createRequire(import.meta.url)): typeof BetterSqlite3 {
  let version: string;
  try {
    version = (require('better-sqlite3/package.json') as { version: string }).version;
  } catch (error) {
    throw new MessagingError(
      `SqliteOutboxStore needs the "better-sqlite3" package, version ${MINIMUM_MAJOR}: npm install better-sqlite3@${MINIMUM_MAJOR}. ` +
        `Loading it failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (Number(version.split('.')[0]) < MINIMUM_MAJOR) {
    throw new MessagingError(
      `SqliteOutboxStore needs "better-sqlite3" version ${MINIMUM_MAJOR} or newer; ${version} is installed, ` +
        `which aborts the process on Node.js 24.19 to 24.21 when a statement is garbage-collected: ` +
        `npm install better-sqlite3@${MINIMUM_MAJOR}`,
    );
  }
  try {
    return require('better-sqlite3') as typeof BetterSqlite3;
  } catch (error) {
    throw new MessagingError(
      `SqliteOutboxStore could not load "better-sqlite3" ${version} on Node.js ${process.version}: ` +
        (error instanceof Error ? error.message : String(error)),
    );
  }
}
