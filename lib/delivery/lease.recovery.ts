import type { OutboxStore } from '../kernel/outbox-store.interface.js';
import { publishLeaseTakenOver } from './delivery.events.js';
import type { DeliveryLog } from './delivery.log.js';

/**
 * Lease recovery at start-up, left to the store (`takeOverLeases`, optional):
 * it starts vouching for this dispatcher's owner id and gives back at once the
 * leases of owners it proves gone (`PostgresOutboxStore`: their database
 * session ended), so a restart resends without waiting `leaseMs`. Without such
 * a proof, another owner's leases wait for their expiry by the store's clock.
 * Nothing is listed: the store does it in one statement.
 */
export class LeaseRecovery {
  constructor(
    private readonly store: OutboxStore,
    private readonly owner: string,
    private readonly log: DeliveryLog,
  ) {}

  /** Registers this owner with the store and logs what it took over from owners proven gone. */
  async takeOverGoneOwners(): Promise<void> {
    if (this.store.takeOverLeases === undefined) return;
    for (const { owner, count } of await this.store.takeOverLeases(this.owner)) {
      this.log.tookOver(count, owner);
      publishLeaseTakenOver(this.owner, owner, count);
    }
  }
}
