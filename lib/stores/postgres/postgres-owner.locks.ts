import { Logger } from '@nestjs/common';
import type { TakenOverLeases } from '../../kernel/outbox-delivery-store.interface.js';
import type { DedicatedConnection, PostgresOutboxConnection } from './postgres-outbox.connection.js';
import { ownerLockKey } from './postgres-outbox.sql.js';

const RECONNECT_MS = 1000;

/**
 * Proof, held by the database, that a lease owner is alive: each owner of this process holds a
 * session-level advisory lock (`ownerLockKey`) on a connection of its own for as long as the
 * store is open. The server drops the lock when that session ends (the process exited or was
 * killed, its host or container vanished), whatever the host name, PID namespace or clock of
 * anyone involved; an owner is gone iff its lock can be taken. A lost lock connection is
 * reopened and the lock taken again (after at most about a second, logged).
 */
export class PostgresOwnerLocks {
  private readonly logger = new Logger('PostgresOutboxStore');
  private readonly held = new Map<string, DedicatedConnection | undefined>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly connection: PostgresOutboxConnection) {}

  /**
   * Takes `owner`'s lock (once; later calls resolve at once), then gives back the unexpired
   * leases of every other owner whose lock is free: one statement, which takes each such lock
   * and releases it at once. Leases are compared with the database's clock.
   * @throws Error (as a rejection) from PostgreSQL when the lock or the statement fails.
   */
  async takeOver(owner: string): Promise<TakenOverLeases[]> {
    if (!this.held.has(owner)) await this.hold(owner);
    const { table: t } = this.connection;
    const key = ownerLockKey(t, 'leased.owner');
    const { rows } = await this.connection.query<{ owner: string; count: number }>(
      'taking over the leases of gone owners',
      `WITH gone AS MATERIALIZED (
         SELECT leased.owner FROM (
           SELECT DISTINCT lease_owner AS owner FROM ${t}
           WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_owner <> $1
             AND lease_expires_at > statement_timestamp()) leased
         WHERE CASE WHEN pg_try_advisory_lock(${key}) THEN pg_advisory_unlock(${key}) ELSE false END),
       taken AS (
         UPDATE ${t} AS m SET lease_owner = NULL, lease_expires_at = NULL,
           last_error = 'claimed by ' || gone.owner || ', whose process has ended (its lock in the database was free)'
         FROM gone WHERE m.status = 'pending' AND m.lease_owner = gone.owner
           AND m.lease_expires_at > statement_timestamp()
         RETURNING gone.owner)
       SELECT owner, count(*)::int AS count FROM taken GROUP BY owner ORDER BY owner`,
      [owner],
    );
    return rows;
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
    let connection: DedicatedConnection | undefined;
    try {
      connection = await this.connection.dedicated('the lease-owner lock');
      const { client } = connection;
      client.on('error', () => {
        // 'end' follows and schedules the retake.
      });
      client.on('end', () => {
        if (this.held.get(owner) === connection) this.retakeLater(owner, 'its connection ended');
      });
      // A server that ends idle sessions would drop the lock; PostgreSQL < 14 lacks the setting.
      await client.query('SET idle_session_timeout = 0').catch(() => undefined);
      // Owner ids are unique: the lock is free (a 64-bit hash collision would only make a gone owner look alive).
      await client.query(`SELECT pg_try_advisory_lock(${ownerLockKey(this.connection.table, '$1')})`, [owner]);
      if (this.closed) {
        await connection.end();
        return;
      }
      this.held.set(owner, connection);
    } catch (error) {
      await connection?.end().catch(() => undefined);
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
