import type { OutboxStore } from '../kernel/outbox-store.interface.js';
import type { DeliveryLog } from './delivery.log.js';
import { isDeadLocalOwner } from './lease.owner.js';

/** How many pending messages start-up looks at for leases of dead processes. */
const SCAN_LIMIT = 100_000;

/**
 * Lease recovery at start-up: a process on this host that died (`kill -9`, a
 * crash) left its leases behind; they are given back at once rather than when
 * they expire, so a restart resends without waiting `leaseMs`. Leases of other
 * hosts, or of processes still alive, wait for their expiry.
 */
export class LeaseRecovery {
  constructor(
    private readonly store: OutboxStore,
    private readonly owner: string,
    private readonly log: DeliveryLog,
  ) {}

  /** Makes the messages leased by dead local owners due now, without counting an attempt. */
  async takeOverDeadLocalOwners(): Promise<void> {
    const leased = (await this.store.list({ status: 'pending' }, SCAN_LIMIT)).filter(
      ({ lease }) => lease !== undefined,
    );
    const byOwner = new Map<string, string[]>();
    for (const { lease, message } of leased) {
      if (lease === undefined || lease.owner === this.owner || !isDeadLocalOwner(lease.owner)) continue;
      byOwner.set(lease.owner, [...(byOwner.get(lease.owner) ?? []), message.id]);
    }
    const now = Date.now();
    for (const [owner, ids] of byOwner) {
      const error = `claimed by ${owner}, which is no longer running`;
      await this.store.reschedule(
        owner,
        ids.map((id) => ({ id, error, counted: false, nextAttemptAt: now })),
        now,
      );
      this.log.tookOver(ids.length, owner);
    }
  }
}
