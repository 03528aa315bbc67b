import { createMessage } from '../kernel/message.factory.js';
import type { OutboxEntry } from '../kernel/outbox-store.interface.js';
import { assert, assertMatches, idsOf, numbersOf, pause, withOutbox } from './outbox-store-contract.check.js';
import type { OutboxStoreContractCase, OutboxStoreContractSubject } from './outbox-store-contract.interface.js';

const LEASE = { leaseMs: 1000 };
const HOUR = 3_600_000;

/** The contract's cases on what a dispatcher calls: append, claim, markDelivered, reschedule, nextDueAt. */
export function deliveryCases(subject: OutboxStoreContractSubject): OutboxStoreContractCase[] {
  const test = (name: string, body: Parameters<typeof withOutbox>[1], timeoutMs = 5000): OutboxStoreContractCase => ({
    name,
    group: 'delivery',
    timeoutMs,
    run: () => withOutbox(subject, body),
  });
  return [
    test('hands out messages oldest first, each request all together, with the message intact', async (store) => {
      const first = [createMessage('.a', { n: 1, nested: { list: [1, 'x', null] } }, { headers: { priority: 4 } })];
      const second = [createMessage('.b', { n: 2 }), createMessage('.a', { n: 3 })];
      await store.append(first);
      await store.append(second);
      const claimed = await store.claim({ owner: 'one', limit: 10, now: Date.now(), ...LEASE });
      assert.deepStrictEqual(idsOf(claimed), [first[0].id, second[0].id, second[1].id], 'acceptance order');
      assert.deepStrictEqual(claimed[0].message, first[0], 'the message as appended');
      assert.ok(Object.isFrozen(claimed[0].message.body), 'a frozen body');
      assertMatches(claimed[0], { status: 'pending', attempts: 0, history: [], lease: { owner: 'one' } }, 'the entry');
    }),
    test('respects the limit, and skips what the same owner already holds', async (store) => {
      await store.append([1, 2, 3, 4, 5].map((n) => createMessage('.a', { n })));
      const now = Date.now();
      assert.deepStrictEqual(numbersOf(await store.claim({ owner: 'one', limit: 2, now, ...LEASE })), [1, 2]);
      assert.deepStrictEqual(numbersOf(await store.claim({ owner: 'one', limit: 2, now, ...LEASE })), [3, 4]);
    }),
    test("keeps per-key order: another owner's lease blocks the key (the topic by default), others flow", async (store) => {
      await store.append([createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 }), createMessage('.b', { n: 3 })]);
      const now = Date.now();
      assert.deepStrictEqual(numbersOf(await store.claim({ owner: 'one', limit: 1, now, ...LEASE })), [1]);
      assert.deepStrictEqual(numbersOf(await store.claim({ owner: 'two', limit: 10, now, ...LEASE })), [3]);
    }),
    test('blocks a key from its first message leased to another owner, not before it', async (store) => {
      await store.append([1, 2, 3].map((n) => createMessage('.a', { n })));
      const now = Date.now();
      const [first] = await store.claim({ owner: 'one', limit: 1, now, ...LEASE });
      const failure = { id: first.message.id, error: 'x', counted: true, nextAttemptAt: now + 100 };
      await store.reschedule('one', [failure], now);
      // The first waits for its retry (out of line): the second goes to another owner.
      assert.deepStrictEqual(numbersOf(await store.claim({ owner: 'two', limit: 1, now, ...LEASE })), [2]);
      // Due again, the first is older than the block; the third is behind it.
      assert.deepStrictEqual(numbersOf(await store.claim({ owner: 'one', limit: 10, now: now + 100, ...LEASE })), [1]);
      assert.deepStrictEqual(await store.claim({ owner: 'two', limit: 10, now: now + 100, ...LEASE }), []);
    }),
    test('deletes delivered messages, or keeps them when asked to retain', async (store) => {
      await store.append([createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 })]);
      const now = Date.now();
      const [one, two] = await store.claim({ owner: 'o', limit: 10, now, ...LEASE });
      await store.markDelivered('o', [one.message.id], now, false);
      await store.markDelivered('o', [two.message.id], now, true);
      assert.deepStrictEqual(await store.counts(), { pending: 0, delivered: 1, dead: 0 });
      const delivered = await store.list({ status: 'delivered' }, 10);
      assertMatches(delivered, [{ message: { id: two.message.id }, settledAt: now }], 'the retained message');
      assert.equal(await store.nextDueAt(), undefined, 'nothing pending');
    }),
    test('reschedules a failed message, which steps out of line until due, counting only counted attempts', async (store) => {
      await store.append([createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 }), createMessage('.b', { n: 3 })]);
      const now = Date.now();
      const [first] = await store.claim({ owner: 'o', limit: 1, now, ...LEASE });
      const id = first.message.id;
      await store.reschedule('o', [{ id, error: 'too big', counted: true, nextAttemptAt: now + 1000 }], now);
      const meanwhile = await store.claim({ owner: 'o', limit: 10, now: now + 10, ...LEASE });
      assert.deepStrictEqual(numbersOf(meanwhile), [2, 3], 'the others meanwhile');
      await store.markDelivered('o', idsOf(meanwhile), now + 10, false);
      assert.equal(await store.nextDueAt(), now + 1000, 'due at the retry');
      assert.deepStrictEqual(await store.claim({ owner: 'o', limit: 10, now: now + 999, ...LEASE }), []);
      const later = await store.claim({ owner: 'o', limit: 10, now: now + 1000, ...LEASE });
      assertMatches(later, [{ message: { id }, attempts: 1, lastError: 'too big' }], 'retried');
      await store.reschedule(
        'o',
        [{ id, error: 'unreachable', counted: false, nextAttemptAt: now + 1000 }],
        now + 1000,
      );
      assertMatches(await store.list({ ids: [id] }, 1), [{ attempts: 1, lastError: 'unreachable' }], 'uncounted');
    }),
    test('records every failed attempt in the history, and why a message is dead (default exhausted)', async (store) => {
      const [message, other] = [createMessage('.a', {}), createMessage('.b', {})];
      await store.append([message, other]);
      const now = Date.now();
      await store.claim({ owner: 'o', limit: 1, now, ...LEASE });
      const outage = { id: message.id, error: 'bus down', counted: false, messenger: 'AmqpMessenger' };
      await store.reschedule('o', [{ ...outage, nextAttemptAt: now }], now);
      await store.claim({ owner: 'o', limit: 10, now: now + 1, ...LEASE });
      await store.reschedule(
        'o',
        [
          { id: message.id, error: 'too big', counted: true, nextAttemptAt: undefined, deadReason: 'rejected' },
          { id: other.id, error: 'timeout', counted: true, nextAttemptAt: undefined },
        ],
        now + 1,
      );
      const [dead, exhausted] = await store.list({ status: 'dead' }, 10);
      assertMatches(dead, { attempts: 1, deadReason: 'rejected', lastError: 'too big' }, 'the rejected message');
      assertMatches(
        dead.history.map(({ error, messenger, counted }) => ({ error, messenger, counted })),
        [
          { error: 'bus down', messenger: 'AmqpMessenger', counted: false },
          { error: 'too big', messenger: '', counted: true },
        ],
        'its history',
      );
      assert.ok(Math.abs(dead.history[0].at - now) < 50, 'each record at the time of its failure');
      assert.ok(Object.isFrozen(dead.history), 'a frozen history');
      assertMatches(exhausted, { deadReason: 'exhausted', history: [{ error: 'timeout' }] }, 'the default reason');
    }),
    test('stores the ordering key (the topic by default, a given key, or null) and per-message due times', async (store) => {
      const now = Date.now();
      const messages = [
        createMessage('.a', { n: 1 }),
        createMessage('.a', { n: 2 }, { key: 'order-42' }),
        createMessage('.b', { n: 3 }, { key: null }),
      ];
      await store.append(messages, { availableAt: new Map([[messages[2].id, now + 60_000]]) });
      const listed = await store.list({}, 10);
      assert.deepStrictEqual(
        listed.map(({ message }) => message),
        messages,
        'keys kept',
      );
      // A store in a database keeps times in its own clock: within a few ms of the caller's.
      assert.ok(Math.abs(listed[2].nextAttemptAt - (now + 60_000)) < 50, 'the first due time');
      const claimed = await store.claim({ owner: 'o', limit: 10, now: Date.now(), ...LEASE });
      assert.deepStrictEqual(numbersOf(claimed), [1, 2], 'the delayed message waits');
      await store.markDelivered('o', idsOf(claimed), Date.now(), false);
      assert.deepStrictEqual(numbersOf(await store.claim({ owner: 'o', limit: 10, now: now + 60_100, ...LEASE })), [3]);
    }),
    test("gives a dead owner's messages to another owner once the lease expires, and ignores its late acknowledgement", async (store) => {
      await store.append([createMessage('.a', {})]);
      const now = Date.now();
      await store.claim({ owner: 'dead', limit: 10, now, leaseMs: 500 });
      let reclaimed: OutboxEntry[] = [];
      if (subject.ownClock === true) {
        // Expiry by the store's clock: a caller an hour ahead of it takes nothing.
        assert.deepStrictEqual(await store.claim({ owner: 'alive', limit: 10, now: now + HOUR, leaseMs: 500 }), []);
        const due = (await store.nextDueAt()) ?? 0;
        assert.ok(due >= now + 400 && due <= Date.now() + 600, `due when the lease ends (${String(due - now)} ms)`);
        const deadline = Date.now() + 3000;
        while (reclaimed.length === 0 && Date.now() < deadline) {
          await pause(20);
          reclaimed = await store.claim({ owner: 'alive', limit: 10, now: Date.now(), leaseMs: 500 });
        }
        assert.ok(Date.now() >= now + 450, 'not before the lease ended');
      } else {
        assert.deepStrictEqual(await store.claim({ owner: 'alive', limit: 10, now: now + 499, leaseMs: 500 }), []);
        assert.equal(await store.nextDueAt(), now + 500);
        reclaimed = await store.claim({ owner: 'alive', limit: 10, now: now + 500, leaseMs: 500 });
        assertMatches(reclaimed, [{ lease: { owner: 'alive', expiresAt: now + 1000 } }], 'the new lease');
      }
      assertMatches(reclaimed, [{ lease: { owner: 'alive' } }], 'reclaimed');
      await store.markDelivered('dead', idsOf(reclaimed), now + 600, false);
      await store.reschedule(
        'dead',
        [{ id: reclaimed[0].message.id, error: 'x', counted: true, nextAttemptAt: undefined }],
        now,
      );
      assert.deepStrictEqual(await store.counts(), { pending: 1, delivered: 0, dead: 0 }, 'late calls change nothing');
    }),
  ];
}
