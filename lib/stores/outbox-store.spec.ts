import { outboxStoreContract } from '../testing/outbox-store.contract.js';
import { contractSubject, outboxStoreKinds } from '../../test/support/outbox-store-kinds.js';

// The exported store contract suite (`nestjs-messaging/testing`), run against the shipped
// stores: memory, SQLite (a file per case, a second connection for the concurrency cases),
// PostgreSQL and MySQL/MariaDB (a table per case, a second pool for the concurrency cases).
const KINDS = outboxStoreKinds('outbox-store-spec');

describe.each(KINDS)('$name keeps the OutboxStore contract', (kind) => {
  const cases = outboxStoreContract(contractSubject(kind));
  for (const group of ['delivery', 'operations', 'concurrency'] as const) {
    describe(group, () => {
      for (const { name, run, timeoutMs } of cases.filter((c) => c.group === group)) it(name, run, timeoutMs);
    });
  }
});
