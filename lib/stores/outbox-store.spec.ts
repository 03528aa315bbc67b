import { createMessage } from '../kernel/message.factory.js';
import type { Message } from '../kernel/message.interface.js';
import type { OutboxEntry, OutboxStore } from '../kernel/outbox-store.interface.js';
import { outboxStoreKinds } from '../../test/support/outbox-store-kinds.js';

const LEASE = { leaseMs: 1000 };
const HOUR = 3_600_000;
const ids = (entries: readonly { message: Message }[]): string[] => entries.map(({ message }) => message.id);
const topics = (entries: readonly { message: Message }[]): string[] => entries.map(({ message }) => message.topic);

const KINDS = outboxStoreKinds('outbox-store-spec');

describe.each(KINDS)('$name', (kind) => {
  let store: OutboxStore;
  beforeEach(() => {
    store = kind.open();
  });
  afterEach(() => kind.close(store));

  it('hands out messages oldest first, each request all together, with the message intact', async () => {
    const first = [createMessage('.a', { n: 1, nested: { list: [1, 'x', null] } }, { headers: { priority: 4 } })];
    const second = [createMessage('.b', { n: 2 }), createMessage('.a', { n: 3 })];
    await store.append(first);
    await store.append(second);
    const claimed = await store.claim({ owner: 'one', limit: 10, now: Date.now(), ...LEASE });
    expect(ids(claimed)).toEqual([...ids(first.map((message) => ({ message }))), second[0].id, second[1].id]);
    expect(claimed[0].message).toEqual(first[0]);
    expect(Object.isFrozen(claimed[0].message.body)).toBe(true);
    expect(claimed[0]).toMatchObject({ status: 'pending', attempts: 0, lease: { owner: 'one' } });
  });

  it('respects the limit, and skips what the same owner already holds', async () => {
    await store.append([1, 2, 3, 4, 5].map((n) => createMessage('.a', { n })));
    const now = Date.now();
    const batch1 = await store.claim({ owner: 'one', limit: 2, now, ...LEASE });
    const batch2 = await store.claim({ owner: 'one', limit: 2, now, ...LEASE });
    expect(batch1.map(({ message }) => message.body.n)).toEqual([1, 2]);
    expect(batch2.map(({ message }) => message.body.n)).toEqual([3, 4]);
  });

  it("keeps per-topic order: another owner's lease blocks the topic, other topics flow", async () => {
    await store.append([createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 }), createMessage('.b', { n: 3 })]);
    const now = Date.now();
    expect(topics(await store.claim({ owner: 'one', limit: 1, now, ...LEASE }))).toEqual(['.a']);
    const other = await store.claim({ owner: 'two', limit: 10, now, ...LEASE });
    expect(other.map(({ message }) => message.body.n)).toEqual([3]);
  });

  it('gives a dead owner’s messages to another owner once the lease expires', async () => {
    await store.append([createMessage('.a', {})]);
    const now = Date.now();
    await store.claim({ owner: 'dead', limit: 10, now, leaseMs: 500 });
    let reclaimed: OutboxEntry[];
    if (kind.ownClock) {
      // Expiry by the store's clock: a caller an hour ahead of it takes nothing.
      expect(await store.claim({ owner: 'alive', limit: 10, now: now + HOUR, leaseMs: 500 })).toEqual([]);
      const due = (await store.nextDueAt()) ?? 0;
      expect(due).toBeGreaterThanOrEqual(now + 400);
      expect(due).toBeLessThanOrEqual(Date.now() + 600);
      reclaimed = [];
      const deadline = Date.now() + 3000;
      while (reclaimed.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        reclaimed = await store.claim({ owner: 'alive', limit: 10, now: Date.now(), leaseMs: 500 });
      }
      expect(Date.now()).toBeGreaterThanOrEqual(now + 450);
    } else {
      expect(await store.claim({ owner: 'alive', limit: 10, now: now + 499, leaseMs: 500 })).toEqual([]);
      expect(await store.nextDueAt()).toBe(now + 500);
      reclaimed = await store.claim({ owner: 'alive', limit: 10, now: now + 500, leaseMs: 500 });
      expect(reclaimed[0].lease).toEqual({ owner: 'alive', expiresAt: now + 1000 });
    }
    expect(reclaimed).toHaveLength(1);
    expect(reclaimed[0].lease?.owner).toBe('alive');
    // The late acknowledgement of the dead owner changes nothing.
    await store.markDelivered('dead', ids(reclaimed), now + 600, false);
    expect(await store.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
  });

  it('deletes delivered messages, or keeps them when asked to retain', async () => {
    await store.append([createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 })]);
    const now = Date.now();
    const [one, two] = await store.claim({ owner: 'o', limit: 10, now, ...LEASE });
    await store.markDelivered('o', [one.message.id], now, false);
    await store.markDelivered('o', [two.message.id], now, true);
    expect(await store.counts()).toEqual({ pending: 0, delivered: 1, dead: 0 });
    expect(await store.list({ status: 'delivered' }, 10)).toMatchObject([
      { message: { id: two.message.id }, settledAt: now },
    ]);
    expect(await store.nextDueAt()).toBeUndefined();
  });

  it('reschedules a failed message, which steps out of line until it is due, and counts only counted attempts', async () => {
    await store.append([createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 }), createMessage('.b', { n: 3 })]);
    const now = Date.now();
    const [first] = await store.claim({ owner: 'o', limit: 1, now, ...LEASE });
    await store.reschedule(
      'o',
      [{ id: first.message.id, error: 'rejected: too big', counted: true, nextAttemptAt: now + 1000 }],
      now,
    );
    const meanwhile = await store.claim({ owner: 'o', limit: 10, now: now + 10, ...LEASE });
    expect(meanwhile.map(({ message }) => message.body.n)).toEqual([2, 3]);
    await store.markDelivered('o', ids(meanwhile), now + 10, false);
    expect(await store.nextDueAt()).toBe(now + 1000);
    expect(await store.claim({ owner: 'o', limit: 10, now: now + 999, ...LEASE })).toEqual([]);
    const later = await store.claim({ owner: 'o', limit: 10, now: now + 1000, ...LEASE });
    expect(later).toMatchObject([{ message: { id: first.message.id }, attempts: 1, lastError: 'rejected: too big' }]);
    await store.reschedule(
      'o',
      [{ id: first.message.id, error: 'unreachable', counted: false, nextAttemptAt: now + 1000 }],
      now + 1000,
    );
    expect((await store.list({ ids: [first.message.id] }, 1))[0]).toMatchObject({
      attempts: 1,
      lastError: 'unreachable',
    });
  });

  it('declares a message dead, keeps it, stops it blocking its topic, and retry() brings it back', async () => {
    await store.append([createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 })]);
    const now = Date.now();
    const [poison] = await store.claim({ owner: 'o', limit: 1, now, ...LEASE });
    await store.reschedule(
      'o',
      [{ id: poison.message.id, error: 'rejected', counted: true, nextAttemptAt: undefined }],
      now,
    );
    expect(await store.counts()).toEqual({ pending: 1, delivered: 0, dead: 1 });
    expect(await store.list({ status: 'dead' }, 10)).toMatchObject([
      { message: { id: poison.message.id }, status: 'dead', attempts: 1, lastError: 'rejected', settledAt: now },
    ]);
    const next = await store.claim({ owner: 'o', limit: 10, now, ...LEASE });
    expect(next.map(({ message }) => message.body.n)).toEqual([2]);
    expect(await store.retry({ topic: '.other' }, now)).toBe(0);
    expect(await store.retry({ ids: [poison.message.id] }, now + 5)).toBe(1);
    const retried = await store.claim({ owner: 'o', limit: 10, now: now + 5, ...LEASE });
    expect(retried).toMatchObject([{ message: { id: poison.message.id }, attempts: 0, status: 'pending' }]);
  });

  it('purges settled messages by status and age, never pending ones', async () => {
    await store.append([1, 2, 3].map((n) => createMessage('.a', { n })));
    const now = Date.now();
    const [one, two] = await store.claim({ owner: 'o', limit: 2, now, ...LEASE });
    await store.markDelivered('o', [one.message.id], now - 10_000, true);
    await store.reschedule('o', [{ id: two.message.id, error: 'x', counted: true, nextAttemptAt: undefined }], now);
    expect(await store.purge({ status: 'delivered', before: now - 20_000 })).toBe(0);
    expect(await store.purge({ status: 'delivered', before: now - 5000 })).toBe(1);
    expect(await store.purge({ before: now + 1 })).toBe(1);
    expect(await store.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
  });

  it('blocks a topic from its first message leased to another owner, not before it', async () => {
    await store.append([1, 2, 3].map((n) => createMessage('.a', { n })));
    const now = Date.now();
    const [first] = await store.claim({ owner: 'one', limit: 1, now, ...LEASE });
    await store.reschedule('one', [{ id: first.message.id, error: 'x', counted: true, nextAttemptAt: now + 100 }], now);
    // The first waits for its retry (out of line): the second goes to another owner.
    const second = await store.claim({ owner: 'two', limit: 1, now, ...LEASE });
    expect(second.map(({ message }) => message.body.n)).toEqual([2]);
    // Due again, the first is older than the block; the third is behind it.
    const retried = await store.claim({ owner: 'one', limit: 10, now: now + 100, ...LEASE });
    expect(retried.map(({ message }) => message.body.n)).toEqual([1]);
    // Now the topic is blocked from the first for owner two as well.
    expect(await store.claim({ owner: 'two', limit: 10, now: now + 100, ...LEASE })).toEqual([]);
  });

  it('filters by time: a pending message by when it was stored, strictly before; no ids selects none', async () => {
    await store.append([createMessage('.a', {})]);
    const [entry] = await store.list({}, 10);
    expect(await store.list({ before: entry.createdAt - 1 }, 10)).toEqual([]);
    expect(ids(await store.list({ status: 'pending', before: entry.createdAt + 1 }, 10))).toEqual([entry.message.id]);
    expect(await store.list({ ids: [] }, 10)).toEqual([]);
    expect(await store.retry({ ids: [] }, Date.now())).toBe(0);
    expect(await store.purge({ ids: [] })).toBe(0);
  });

  it('lists with filters combined: status, topic, ids', async () => {
    const messages = [createMessage('.a', {}), createMessage('.b', {}), createMessage('.a', {})];
    await store.append(messages);
    expect(topics(await store.list({ topic: '.a' }, 10))).toEqual(['.a', '.a']);
    expect(ids(await store.list({ ids: [messages[2].id, messages[1].id] }, 10))).toEqual([
      messages[1].id,
      messages[2].id,
    ]);
    expect(await store.list({ status: 'dead' }, 10)).toEqual([]);
    expect(await store.list({}, 2)).toHaveLength(2);
  });
});
