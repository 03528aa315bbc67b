import { Logger } from '@nestjs/common';
import type { TakenOverLeases } from '../../kernel/outbox-delivery-store.interface.js';
import type { DedicatedMysqlConnection, MysqlOutboxConnection } from './mysql-outbox.connection.js';
import { NOW, ownerLockName } from './mysql-outbox.sql.js';

const RECONNECT_MS = 1000;

/**
 * Proof, held by the database, that a lease owner is alive: each owner of this process holds a
 * named lock (`GET_LOCK`, `ownerLockName`) on a connection of its own for as long as the store
 * is open. The server frees it when that session ends (the process exited or was killed, its
 * host vanished, or the server closed the idle session), whatever the host name, PID namespace
 * or clock of anyone involved; an owner is gone iff its lock is free (`IS_FREE_LOCK`). A lost
 * lock connection is reopened and the lock taken again (after about a second, logged).
 */
export class MysqlOwnerLocks {
  private readonly logger = new Logger('MysqlOutboxStore');
  private readonly held = new Map<string, DedicatedMysqlConnection | undefined>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly connection: MysqlOutboxConnection) {}

  /**
   * Takes `owner`'s lock (once; later calls resolve at once), then gives back the unexpired
   * leases of every other owner whose lock is free. Leases are compared with the database's clock.
   * @throws Error (as a rejection) from MySQL when the lock or a statement fails.
   */
  async takeOver(owner: string): Promise<TakenOverLeases[]> {
    if (!this.held.has(owner)) await this.hold(owner);
    const { table: t } = this.connection;
    const gone = await this.connection.query<{ owner: string }[]>(
      'finding gone lease owners',
      `SELECT leased.owner FROM (
         SELECT DISTINCT lease_owner AS owner FROM ${t}
         WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_owner <> ? AND lease_expires_at > ${NOW}) leased
       WHERE IS_FREE_LOCK(${ownerLockName(t, 'leased.owner')}) = 1 ORDER BY leased.owner`,
      [owner],
    );
    const taken: TakenOverLeases[] = [];
    for (const { owner: goneOwner } of gone) {
      const header = await this.connection.query<{ affectedRows: number }>(
        'taking over the leases of a gone owner',
        `UPDATE ${t} SET lease_owner = NULL, lease_expires_at = NULL,
           last_error = CONCAT('claimed by ', ?, ', whose process has ended (its lock in the database was free)')
         WHERE status = 'pending' AND lease_owner = ? AND lease_expires_at > ${NOW}`,
        [goneOwner, goneOwner],
      );
      if (header.affectedRows > 0) taken.push({ owner: goneOwner, count: header.affectedRows });
    }
    return taken;
  }

  /** Releases every lock (ends their connections). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const connections = [...this.held.values()].filter((connection) => connection !== undefined);
    this.held.clear();
    await Promise.all(connections.map((connection) => connection.end().catch(() => undefined)));
  }

  private async hold(owner: string): Promise<void> {
    this.held.set(owner, undefined);
    let dedicated: DedicatedMysqlConnection | undefined;
    try {
      dedicated = await this.connection.dedicated('the lease-owner lock');
      const { connection } = dedicated;
      connection.on('error', () => {
        // 'end' may not follow an error: the retake is scheduled here too (once).
        if (this.held.get(owner) === dedicated) this.retakeLater(owner, 'its connection failed');
      });
      connection.on('end', () => {
        if (this.held.get(owner) === dedicated) this.retakeLater(owner, 'its connection ended');
      });
      // A server that ends idle sessions (wait_timeout, 8 hours by default) would free the lock.
      await connection.query('SET SESSION wait_timeout = 31536000').catch(() => undefined);
      // Owner ids are unique: the lock is free (a SHA-1 collision would only make a gone owner look alive).
      await connection.query(`DO GET_LOCK(${ownerLockName(this.connection.table, '?')}, 0)`, [owner]);
      if (this.closed) {
        await dedicated.end();
        return;
      }
      this.held.set(owner, dedicated);
    } catch (error) {
      await dedicated?.end().catch(() => undefined);
      if (this.closed) return;
      this.held.delete(owner);
      throw error;
    }
  }

  /** Takes `owner`'s lock again in a second, and again until it works; warns once, with `why`. */
  private retakeLater(owner: string, why?: string): void {
    if (this.closed) return;
    this.held.set(owner, undefined);
    if (why !== undefined)
      this.logger.warn(
        `Lost the database lock that shows lease owner ${owner} is alive (${why}); taking it again. ` +
          'Meanwhile an instance starting up may take over its leases',
      );
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.hold(owner).then(
        () => {
          this.logger.log(`Holding the lease owner lock of ${owner} again`);
        },
        () => {
          this.retakeLater(owner);
        },
      );
    }, RECONNECT_MS);
    timer.unref();
    this.timers.add(timer);
  }
}
