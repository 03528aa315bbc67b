import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import type { TakenOverLeases } from '../../kernel/outbox-delivery-store.interface.js';
import { isSqliteBusy } from './sqlite-busy.js';

/** What the owner locks need from the outbox itself. */
export interface SqliteOwnerLeases {
  /** Gives back, in one statement, the unexpired leases of `owners`; how many of whose (by the database's clock). */
  giveBack(owners: readonly string[]): Promise<TakenOverLeases[]>;
  /** Whether `owner` still holds an unexpired lease (synchronous, may throw `SQLITE_BUSY`). */
  holdsLeases(owner: string): boolean;
}

const SUFFIX = '.lock';
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** The lock file name of `owner`: the id itself when it is a safe file name, else a readable part and a hash. */
export function ownerLockFileName(owner: string): string {
  if (SAFE_NAME.test(owner)) return `${owner}${SUFFIX}`;
  const hash = createHash('sha256').update(owner).digest('hex').slice(0, 32);
  return `${owner.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100)}-${hash}${SUFFIX}`;
}

/**
 * Proof, held by the kernel, that a lease owner is alive: each owner of this process holds, for
 * as long as the store is open, an exclusive lock (`BEGIN EXCLUSIVE`, a POSIX lock) on a small
 * SQLite file of its own, `<database>-owners/<owner>.lock`, which records the owner id. The
 * kernel drops the lock when the process ends (exit, crash, `kill -9`), whatever the PID
 * namespace, container or clock of anyone sharing the file; SQLite keeps the locks of several
 * connections of one process apart (another store instance of this process sees them held).
 * An owner is gone iff its file exists and its lock can be taken; an owner without a file (an
 * older version, a file removed by hand) cannot be proven gone and its leases end on expiry.
 * The file is created under another name, locked, then renamed into place, so nobody sees it
 * unlocked. Every lock is tried without waiting (busy timeout 0): the event loop never sleeps.
 */
export class SqliteOwnerLocks {
  private readonly logger = new Logger('SqliteOutboxStore');
  private readonly folder: string;
  private readonly held = new Map<string, { connection: Database; file: string } | undefined>();

  constructor(
    private readonly driver: typeof BetterSqlite3,
    databasePath: string,
    private readonly leases: SqliteOwnerLeases,
  ) {
    this.folder = `${databasePath}-owners`;
  }

  /**
   * Holds `owner`'s lock (once; when its file cannot be made, warns and goes on: its leases
   * then end on expiry only), then tries the lock of every other owner's file: the unexpired
   * leases of those whose lock was free are given back in one statement and their files removed.
   * @throws SqliteBusyError (as a rejection) when the outbox stayed locked for `busyTimeoutMs`;
   *   the gone owners' files are then kept, for the next start to try again.
   */
  async takeOver(owner: string): Promise<TakenOverLeases[]> {
    if (!this.held.has(owner)) this.hold(owner);
    const gone = this.findGone();
    if (gone.length === 0) return [];
    try {
      const taken = await this.leases.giveBack(gone.map(({ owner: id }) => id));
      for (const { file } of gone) rmSync(file, { force: true });
      return taken;
    } finally {
      for (const { connection } of gone) connection.close();
    }
  }

  /**
   * Releases every lock this process holds. A file is removed unless its owner still holds an
   * unexpired lease (the drain timed out): then it stays, unlocked, so the next start takes those
   * leases over at once. Call before the outbox closes. Idempotent.
   */
  close(): void {
    for (const [owner, lock] of this.held) {
      if (lock === undefined) continue;
      let keep = true;
      try {
        keep = this.leases.holdsLeases(owner);
      } catch {
        // Locked by another process: keep the file, the next start decides.
      }
      if (!keep) rmSync(lock.file, { force: true });
      lock.connection.close();
    }
    this.held.clear();
  }

  private hold(owner: string): void {
    this.held.set(owner, undefined);
    const file = join(this.folder, ownerLockFileName(owner));
    const fresh = `${file}-${randomUUID()}`;
    let opened: Database | undefined;
    try {
      mkdirSync(this.folder, { recursive: true });
      const connection = (opened = new this.driver(fresh, { timeout: 0 }));
      // Nothing here needs to survive the machine: the lock is what counts, held in memory by the kernel.
      connection.pragma('journal_mode = MEMORY');
      connection.pragma('synchronous = OFF');
      connection.exec('CREATE TABLE lease_owner (id TEXT NOT NULL)');
      connection.prepare('INSERT INTO lease_owner (id) VALUES (?)').run(owner);
      connection.exec('BEGIN EXCLUSIVE');
      renameSync(fresh, file);
      this.held.set(owner, { connection, file });
    } catch (error) {
      opened?.close();
      rmSync(fresh, { force: true });
      this.logger.warn(
        `Cannot hold the lock file ${file} that shows lease owner ${owner} is alive ` +
          `(${error instanceof Error ? error.message : String(error)}): if this process dies, its leases ` +
          `end on expiry only (dispatch.leaseMs). Make ${this.folder} writable next to the database`,
      );
    }
  }

  /** The owners whose file's lock was free, each with its file and the connection that now holds its lock. */
  private findGone(): { owner: string; file: string; connection: Database }[] {
    let names: string[];
    try {
      names = readdirSync(this.folder);
    } catch {
      return [];
    }
    const ours = new Set([...this.held.values()].map((lock) => lock?.file));
    const gone: { owner: string; file: string; connection: Database }[] = [];
    for (const name of names) {
      const file = join(this.folder, name);
      if (!name.endsWith(SUFFIX) || ours.has(file)) continue;
      const found = this.tryLock(file);
      if (found !== undefined) gone.push({ ...found, file });
    }
    return gone;
  }

  /** Takes `file`'s lock without waiting: its owner, holding it, when it was free; else `undefined` (alive, or unreadable). */
  private tryLock(file: string): { owner: string; connection: Database } | undefined {
    let connection: Database;
    try {
      connection = new this.driver(file, { timeout: 0, fileMustExist: true });
    } catch {
      return undefined; // Removed meanwhile (by another starting instance): nothing to prove.
    }
    try {
      connection.exec('BEGIN IMMEDIATE');
      const row = connection.prepare('SELECT id FROM lease_owner').get() as { id?: unknown } | undefined;
      if (typeof row?.id === 'string') return { owner: row.id, connection };
    } catch (error) {
      // Busy: its owner is alive. Anything else (not a lock file of ours): cannot prove anything.
      if (!isSqliteBusy(error)) this.logger.debug(`Ignoring ${file}: ${String(error)}`);
    }
    connection.close();
    return undefined;
  }
}
