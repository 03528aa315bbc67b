import { createMessage } from '../kernel/message.factory.js';
import { assert, assertMatches, idsOf, numbersOf, withOutbox } from './outbox-store-contract.check.js';
import type { OutboxStoreContractCase, OutboxStoreContractSubject } from './outbox-store-contract.interface.js';

const LEASE = { leaseMs: 1000 };

/**
 * The contract's cases on what holds a key (`FailedAttempt.holdsKey`, a delayed keyed message)
 * and on caller-supplied ids (a duplicate is a no-op), in the `delivery` group.
 */
export function keyCases(subject: OutboxStoreContractSubject): OutboxStoreContractCase[] {
  const test = (name: string, body: Parameters<typeof withOutbox>[1]): OutboxStoreContractCase => ({
    name,
    group: 'delivery',
    timeoutMs: 5000,
    run: () => withOutbox(subject, body),
  });
  return [
    test('a failed message rescheduled with holdsKey holds its key until due; other keys flow', async (store) => {
      await store.append([createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 }), createMessage('.b', { n: 3 })]);
      const now = Date.now();
      const [first] = await store.claim({ owner: 'o', limit: 1, now, ...LEASE });
      const id = first.message.id;
      await store.reschedule('o', [{ id, error: 'x', counted: true, nextAttemptAt: now + 1000, holdsKey: true }], now);
      const meanwhile = await store.claim({ owner: 'two', limit: 10, now: now + 10, ...LEASE });
      assert.deepStrictEqual(numbersOf(meanwhile), [3], "the held key's next message waits");
      assert.equal(await store.nextDueAt(), now + 1000, 'due at the retry, nothing of the key before it');
      await store.markDelivered('two', idsOf(meanwhile), now + 10, false);
      const later = await store.claim({ owner: 'o', limit: 10, now: now + 1000, ...LEASE });
      assert.deepStrictEqual(numbersOf(later), [1, 2], 'once due, the key goes on in order');
    }),
    test('a delayed message with a key holds the key until due; unkeyed and other keys flow', async (store) => {
      const now = Date.now();
      const messages = [
        createMessage('.a', { n: 1 }, { key: 'k' }),
        createMessage('.a', { n: 2 }, { key: 'k' }),
        createMessage('.a', { n: 3 }, { key: 'other' }),
        createMessage('.a', { n: 4 }, { key: null }),
      ];
      await store.append(messages, { availableAt: new Map([[messages[0].id, now + 60_000]]) });
      const claimed = await store.claim({ owner: 'o', limit: 10, now: Date.now(), ...LEASE });
      assert.deepStrictEqual(numbersOf(claimed), [3, 4], 'the key waits behind its delayed head');
      await store.markDelivered('o', idsOf(claimed), Date.now(), false);
      const due = await store.claim({ owner: 'o', limit: 10, now: now + 60_100, ...LEASE });
      assert.deepStrictEqual(numbersOf(due), [1, 2], 'at its time, in order');
    }),
    test('takes a duplicate id as a no-op: in one append, and later while pending, dead or retained', async (store) => {
      const first = createMessage('.a', { n: 1 }, { id: 'order-42:placed' });
      const copy = createMessage('.a', { n: 2 }, { id: 'order-42:placed' });
      const other = createMessage('.a', { n: 3 }, { id: 'order-43:placed' });
      await store.append([first, copy, other]);
      await store.append([copy]);
      assert.deepStrictEqual(numbersOf(await store.list({}, 10)), [1, 3], 'the first kept, once');
      const now = Date.now();
      const [a, b] = await store.claim({ owner: 'o', limit: 10, now, ...LEASE });
      await store.reschedule('o', [{ id: a.message.id, error: 'x', counted: true, nextAttemptAt: undefined }], now);
      await store.markDelivered('o', [b.message.id], now, true);
      await store.append([copy]);
      await store.append([createMessage('.a', { n: 4 }, { id: 'order-43:placed' })]);
      assert.deepStrictEqual(await store.counts(), { pending: 0, delivered: 1, dead: 1 }, 'nothing new');
      assertMatches(await store.list({ ids: ['order-42:placed'] }, 10), [{ message: { body: { n: 1 } } }], 'kept');
    }),
  ];
}
