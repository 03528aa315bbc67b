import { AssertionError } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import type { Message } from '../kernel/message.interface.js';
import type {
  AppendOptions,
  ClaimRequest,
  FailedAttempt,
  OutboxEntry,
  OutboxFilter,
} from '../kernel/outbox-store.interface.js';
import { MemoryOutboxStore } from '../stores/memory-outbox.store.js';
import { outboxStoreContract } from './outbox-store.contract.js';

/** Leases that end as soon as they are taken: another owner may take a message at once. */
class LeaselessStore extends MemoryOutboxStore {
  override claim(request: ClaimRequest): Promise<OutboxEntry[]> {
    return super.claim({ ...request, leaseMs: -1 });
  }
}

/** Lists ignoring the key and reason fields. */
class CoarseFilterStore extends MemoryOutboxStore {
  override list(filter: OutboxFilter, limit: number): Promise<OutboxEntry[]> {
    return super.list({ ...filter, key: undefined, reason: undefined }, limit);
  }
}

/** Ignores `holdsKey` on reschedule: a failed message under `onFailure: 'hold'` steps aside. */
class HoldlessStore extends MemoryOutboxStore {
  override reschedule(owner: string, failures: readonly FailedAttempt[], now: number): Promise<void> {
    return super.reschedule(
      owner,
      failures.map((failure) => ({ ...failure, holdsKey: false })),
      now,
    );
  }
}

/** Stores delays but lets a delayed keyed message step aside (its key is not held). */
class DelayStepsAsideStore extends MemoryOutboxStore {
  override appendNow(messages: readonly Message[], options?: AppendOptions): void {
    super.appendNow(messages, options);
    const records = (this as unknown as { records: Map<string, { holdsKey: boolean }> }).records;
    for (const record of records.values()) record.holdsKey = false;
  }
}

/** Stores a duplicate id again (a second row) instead of dropping it. */
class DuplicatingStore extends MemoryOutboxStore {
  private copies = 0;
  override appendNow(messages: readonly Message[], options?: AppendOptions): void {
    super.appendNow(
      messages.map((message, index) =>
        messages.findIndex(({ id }) => id === message.id) < index
          ? { ...message, id: `${message.id}#${String(++this.copies)}` }
          : message,
      ),
      options,
    );
  }
}

/** The outcome of each case against `open`'s store, by name. */
async function outcomes(open: () => MemoryOutboxStore): Promise<Map<string, unknown>> {
  const results = new Map<string, unknown>();
  const cases = outboxStoreContract({ open: () => ({ store: open(), close: () => Promise.resolve() }) });
  for (const { name, run } of cases)
    results.set(
      name,
      await run().then(
        () => 'passed',
        (error: unknown) => error,
      ),
    );
  return results;
}

describe('the exported store contract suite', () => {
  it('lists named cases in three groups, with timeouts, importing no test runner', () => {
    const cases = outboxStoreContract({
      open: () => ({ store: new MemoryOutboxStore(), close: () => Promise.resolve() }),
    });
    expect(new Set(cases.map(({ group }) => group))).toEqual(new Set(['delivery', 'operations', 'concurrency']));
    expect(new Set(cases.map(({ name }) => name)).size).toBe(cases.length);
    expect(cases.every(({ timeoutMs }) => timeoutMs > 0)).toBe(true);
    const sources = readdirSync(import.meta.dirname).filter(
      (name) => name.startsWith('outbox-store') && !name.endsWith('.spec.ts'),
    );
    expect(sources.length).toBeGreaterThanOrEqual(5);
    for (const name of sources)
      expect(readFileSync(`${import.meta.dirname}/${name}`, 'utf8')).not.toMatch(/jest|vitest|mocha|\bexpect\(/);
  });

  it('passes a store that keeps the contract', async () => {
    const results = await outcomes(() => new MemoryOutboxStore());
    expect([...results.values()].filter((outcome) => outcome !== 'passed')).toEqual([]);
  });

  it('fails a store whose leases do not hold, in the concurrency and lease cases, with an AssertionError', async () => {
    const results = await outcomes(() => new LeaselessStore());
    expect(results.get('two owners claiming at once never share a message')).toBeInstanceOf(AssertionError);
    expect(
      results.get("respects a lease taken through another store object; only the lease's owner settles"),
    ).toBeInstanceOf(AssertionError);
    expect(
      results.get('keeps per-key order across two owners delivering at once (the topic as default key)'),
    ).toBeInstanceOf(AssertionError);
  });

  it('fails a store whose list ignores key and reason', async () => {
    const results = await outcomes(() => new CoarseFilterStore());
    expect(
      results.get('lists with filters combined: status, topic, ids, key (null: unordered), reason'),
    ).toBeInstanceOf(AssertionError);
  });

  it.each([
    [
      'ignores holdsKey on reschedule',
      () => new HoldlessStore(),
      'a failed message rescheduled with holdsKey holds its key until due; other keys flow',
    ],
    [
      'lets a delayed keyed message step aside',
      () => new DelayStepsAsideStore(),
      'a delayed message with a key holds the key until due; unkeyed and other keys flow',
    ],
    [
      'stores a duplicate id twice',
      () => new DuplicatingStore(),
      'takes a duplicate id as a no-op: in one append, and later while pending, dead or retained',
    ],
  ])('fails a store that %s', async (_what, open: () => MemoryOutboxStore, name: string) => {
    const results = await outcomes(open);
    expect(results.get(name)).toBeInstanceOf(AssertionError);
  });
});
