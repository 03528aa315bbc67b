import { createMessage } from '../kernel/message.factory.js';
import type { OutboxStore } from '../kernel/outbox-store.interface.js';
import { assert, assertMatches, idsOf, numbersOf, withOutbox } from './outbox-store-contract.check.js';
import type { OutboxStoreContractCase, OutboxStoreContractSubject } from './outbox-store-contract.interface.js';

const LEASE = { leaseMs: 1000 };

/** Claims the oldest message by `owner` and declares it dead with `reason`; resolves to its id. */
async function killOldest(store: OutboxStore, now: number, deadReason: 'rejected' | 'expired'): Promise<string> {
  const [entry] = await store.claim({ owner: 'killer', limit: 1, now, ...LEASE });
  const failure = { id: entry.message.id, error: deadReason, counted: true, nextAttemptAt: undefined, deadReason };
  await store.reschedule('killer', [failure], now);
  return entry.message.id;
}

/** The contract's cases on what operators call: list, counts, retry, purge, and their filters. */
export function operationsCases(subject: OutboxStoreContractSubject): OutboxStoreContractCase[] {
  const test = (name: string, body: Parameters<typeof withOutbox>[1]): OutboxStoreContractCase => ({
    name,
    group: 'operations',
    timeoutMs: 5000,
    run: () => withOutbox(subject, body),
  });
  return [
    test('lists with filters combined: status, topic, ids, key (null: unordered), reason', async (store) => {
      const [a, b, c, d] = [
        createMessage('.a', { n: 1 }, { key: 'k' }),
        createMessage('.b', { n: 2 }),
        createMessage('.a', { n: 3 }, { key: null }),
        createMessage('.a', { n: 4 }),
      ];
      await store.append([a, b, c, d]);
      // After the append: a store in a database stamps due times by its own clock.
      const rejected = await killOldest(store, Date.now(), 'rejected');
      assert.equal(rejected, a.id);
      assert.deepStrictEqual(numbersOf(await store.list({ topic: '.a' }, 10)), [1, 3, 4], 'by topic');
      assert.deepStrictEqual(idsOf(await store.list({ ids: [d.id, b.id] }, 10)), [b.id, d.id], 'by ids, in order');
      assert.deepStrictEqual(numbersOf(await store.list({ key: 'k' }, 10)), [1], 'by key');
      assert.deepStrictEqual(numbersOf(await store.list({ key: '.a' }, 10)), [4], 'by the default key');
      assert.deepStrictEqual(numbersOf(await store.list({ key: null }, 10)), [3], 'unordered');
      assert.deepStrictEqual(numbersOf(await store.list({ reason: 'rejected' }, 10)), [1], 'by reason');
      assert.deepStrictEqual(await store.list({ reason: 'expired' }, 10), [], 'another reason');
      assert.deepStrictEqual(await store.list({ status: 'pending', reason: 'rejected' }, 10), [], 'no pending reason');
      assert.deepStrictEqual(numbersOf(await store.list({ status: 'pending', topic: '.a' }, 10)), [3, 4]);
      assert.equal((await store.list({}, 2)).length, 2, 'the limit');
    }),
    test('filters by time (a pending message by when it was stored, strictly before); no ids selects none', async (store) => {
      await store.append([createMessage('.a', {})]);
      const [entry] = await store.list({}, 10);
      assert.deepStrictEqual(await store.list({ before: entry.createdAt - 1 }, 10), []);
      const before = await store.list({ status: 'pending', before: entry.createdAt + 1 }, 10);
      assert.deepStrictEqual(idsOf(before), [entry.message.id]);
      assert.deepStrictEqual(await store.list({ ids: [] }, 10), []);
      assert.equal(await store.retry({ ids: [] }, Date.now()), 0);
      assert.equal(await store.purge({ ids: [] }), 0);
    }),
    test('retry() makes dead messages pending in their original place on their key, history kept, reason cleared', async (store) => {
      const messages = [1, 2, 3].map((n) => createMessage('.a', { n }, { key: 'order-1' }));
      await store.append(messages);
      const now = Date.now();
      await killOldest(store, now, 'rejected');
      assert.deepStrictEqual(await store.counts(), { pending: 2, delivered: 0, dead: 1 });
      assert.equal(await store.retry({ topic: '.other' }, now), 0, 'another topic');
      assert.equal(await store.retry({ reason: 'expired' }, now), 0, 'another reason');
      assert.equal(await store.retry({ key: 'order-1', status: 'pending' }, now + 5), 1, 'status ignored');
      const [requeued] = await store.list({ ids: [messages[0].id] }, 1);
      assertMatches(requeued, { status: 'pending', attempts: 0, lastError: 'rejected', history: [{}] }, 'requeued');
      assert.equal(requeued.deadReason, undefined, 'no reason any more');
      assert.equal(requeued.settledAt, undefined, 'not settled');
      // Before the messages accepted after it, not behind them.
      const claimed = await store.claim({ owner: 'o', limit: 10, now: now + 5, ...LEASE });
      assert.deepStrictEqual(numbersOf(claimed), [1, 2, 3], 'its original place');
    }),
    test('purges settled messages by status, age and reason, never pending ones', async (store) => {
      const messages = [1, 2, 3, 4].map((n) => createMessage('.a', { n }, { key: null }));
      await store.append(messages);
      const now = Date.now();
      const [one, two] = await store.claim({ owner: 'o', limit: 2, now, ...LEASE });
      await store.markDelivered('o', [one.message.id], now - 10_000, true);
      await store.reschedule('o', [{ id: two.message.id, error: 'x', counted: true, nextAttemptAt: undefined }], now);
      assert.equal(await store.purge({ ids: [messages[2].id] }), 0, 'a pending message, by id');
      assert.equal(await store.purge({ status: 'delivered', before: now - 20_000 }), 0, 'too recent');
      assert.equal(await store.purge({ status: 'delivered', before: now - 5000 }), 1, 'old enough');
      assert.equal(await store.purge({ reason: 'rejected' }), 0, 'another reason');
      assert.equal(await store.purge({ reason: 'exhausted', before: now + 1 }), 1, 'its reason');
      assert.equal(await store.purge({ before: now + 1 }), 0, 'only pending left');
      assert.deepStrictEqual(await store.counts(), { pending: 2, delivered: 0, dead: 0 });
    }),
  ];
}
