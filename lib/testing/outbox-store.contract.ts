import { concurrencyCases } from './outbox-store-contract.concurrency-cases.js';
import { deliveryCases } from './outbox-store-contract.delivery-cases.js';
import type { OutboxStoreContractCase, OutboxStoreContractSubject } from './outbox-store-contract.interface.js';
import { keyCases } from './outbox-store-contract.key-cases.js';
import { operationsCases } from './outbox-store-contract.operations-cases.js';

export type {
  OutboxStoreContractCase,
  OutboxStoreContractSubject,
  OutboxUnderTest,
} from './outbox-store-contract.interface.js';

/**
 * The cases every `OutboxStore` must pass, the ones the shipped stores (memory, SQLite,
 * PostgreSQL) pass in this library's own tests: order and batching of claims, settling,
 * retries and history, dead reasons, keys and delays (held keys), duplicate ids, leases and their expiry, operators'
 * filters, requeue in place, purges, and two dispatchers sharing the store (claims never
 * shared, per-key order kept, leases respected across store objects).
 *
 * Runner-agnostic: each case is a named async function that rejects with an `AssertionError`
 * (`node:assert`) on failure; no test framework is imported. Each opens its own outbox with
 * `subject.open()` and closes it.
 *
 * @example
 * ```ts
 * import { outboxStoreContract } from 'nestjs-messaging/testing';
 *
 * describe('RedisOutboxStore', () => {
 *   for (const c of outboxStoreContract({ open: () => openFreshRedisOutbox(), ownClock: true })) {
 *     it(c.name, c.run, c.timeoutMs);
 *   }
 * });
 * ```
 */
export function outboxStoreContract(subject: OutboxStoreContractSubject): OutboxStoreContractCase[] {
  return [...deliveryCases(subject), ...keyCases(subject), ...operationsCases(subject), ...concurrencyCases(subject)];
}
