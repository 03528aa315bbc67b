import { createMessage } from '../kernel/message.factory.js';
import type { Message } from '../kernel/message.interface.js';
import type { OutboxEntry, OutboxStore } from '../kernel/outbox-store.interface.js';
import { assert, idsOf, withOutbox } from './outbox-store-contract.check.js';
import type { OutboxStoreContractCase, OutboxStoreContractSubject } from './outbox-store-contract.interface.js';

const KEYS = 12;
const PER_KEY = 10;
const LEASE_MS = 30_000;

/** `KEYS` keys (topics, the default key) of `PER_KEY` messages each, interleaved: `.k0` #0, `.k1` #0, ... */
function interleaved(): Message[] {
  const messages: Message[] = [];
  for (let n = 0; n < PER_KEY; n++)
    for (let k = 0; k < KEYS; k++) messages.push(createMessage(`.k${String(k)}`, { k, n }));
  return messages;
}

/**
 * Two dispatchers (owners `one` and `two`, each through its own store object when the subject
 * gives one) claim and deliver until nothing is left, checking on every claim that the key's
 * earlier messages are delivered (acknowledged, at least) or held by the same owner, and that no
 * message is ever handed out twice. Resolves to the order deliveries were acknowledged, per key.
 */
async function deliverWithTwoOwners(stores: readonly [OutboxStore, OutboxStore], messages: readonly Message[]) {
  const position = new Map(messages.map((message) => [message.id, message.body.n as number]));
  const acknowledged = new Set<string>();
  const claimedOnce = new Set<string>();
  const order = new Map<string, number[]>();
  const deadline = Date.now() + 20_000;
  const earlierOf = (message: Message): Message[] =>
    messages.filter(
      (other) => other.key === message.key && (position.get(other.id) ?? 0) < (position.get(message.id) ?? 0),
    );
  async function dispatcher(owner: string, store: OutboxStore): Promise<void> {
    let idle = 0;
    while (acknowledged.size < messages.length && Date.now() < deadline) {
      const batch: OutboxEntry[] = await store.claim({ owner, limit: 5, now: Date.now(), leaseMs: LEASE_MS });
      const held = new Set(idsOf(batch));
      for (const { message } of batch) {
        assert.ok(!claimedOnce.has(message.id), `${message.id} (${String(message.key)}) was handed out twice`);
        claimedOnce.add(message.id);
        const skipped = earlierOf(message).filter(({ id }) => !acknowledged.has(id) && !held.has(id));
        assert.deepStrictEqual(
          skipped.map(({ body }) => body.n),
          [],
          `${owner} got #${String(position.get(message.id))} of ${String(message.key)} before earlier ones were delivered`,
        );
      }
      // Acknowledged from the moment the call is made: the other owner may see it at once.
      for (const { message } of batch) {
        acknowledged.add(message.id);
        order.set(String(message.key), [...(order.get(String(message.key)) ?? []), message.body.n as number]);
      }
      if (batch.length > 0) await store.markDelivered(owner, [...held], Date.now(), false);
      // Nothing claimable for now (the other owner holds the rest): look again soon.
      idle = batch.length === 0 ? idle + 1 : 0;
      if (idle > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(idle, 10)));
    }
  }
  await Promise.all([dispatcher('one', stores[0]), dispatcher('two', stores[1])]);
  assert.equal(acknowledged.size, messages.length, 'every message delivered within 20 s');
  return order;
}

/** The contract's cases on several dispatchers sharing the store: claims, order, leases. */
export function concurrencyCases(subject: OutboxStoreContractSubject): OutboxStoreContractCase[] {
  const test = (name: string, body: Parameters<typeof withOutbox>[1]): OutboxStoreContractCase => ({
    name,
    group: 'concurrency',
    timeoutMs: 30_000,
    run: () => withOutbox(subject, body),
  });
  return [
    test('two owners claiming at once never share a message', async (store, another) => {
      const second = await another();
      const messages = interleaved().map((message) => createMessage(message.topic, message.body, { key: null }));
      await store.append(messages);
      const seen = new Set<string>();
      for (let round = 0; round < messages.length && seen.size < messages.length; round++) {
        const now = Date.now();
        const [one, two] = await Promise.all([
          store.claim({ owner: 'one', limit: 7, now, leaseMs: LEASE_MS }),
          second.claim({ owner: 'two', limit: 7, now, leaseMs: LEASE_MS }),
        ]);
        for (const id of [...idsOf(one), ...idsOf(two)]) {
          assert.ok(!seen.has(id), `message ${id} leased to two owners`);
          seen.add(id);
        }
      }
      assert.equal(seen.size, messages.length, 'every message claimed once');
      assert.deepStrictEqual(await store.claim({ owner: 'three', limit: 10, now: Date.now(), leaseMs: LEASE_MS }), []);
    }),
    test('keeps per-key order across two owners delivering at once (the topic as default key)', async (store, another) => {
      const messages = interleaved();
      await store.append(messages);
      const order = await deliverWithTwoOwners([store, await another()], messages);
      for (const [key, numbers] of order)
        assert.deepStrictEqual(
          numbers,
          [...numbers].sort((a, b) => a - b),
          `delivery order of ${key}`,
        );
      assert.deepStrictEqual(await store.counts(), { pending: 0, delivered: 0, dead: 0 });
    }),
    test("respects a lease taken through another store object; only the lease's owner settles", async (store, another) => {
      const second = await another();
      const [first, next] = [createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 })];
      await store.append([first, next]);
      const now = Date.now();
      assert.deepStrictEqual(idsOf(await store.claim({ owner: 'one', limit: 1, now, leaseMs: LEASE_MS })), [first.id]);
      assert.deepStrictEqual(await second.claim({ owner: 'two', limit: 10, now, leaseMs: LEASE_MS }), [], 'key held');
      await second.markDelivered('two', [first.id], now, false);
      await second.reschedule('two', [{ id: first.id, error: 'x', counted: true, nextAttemptAt: undefined }], now);
      assert.deepStrictEqual(
        await store.counts(),
        { pending: 2, delivered: 0, dead: 0 },
        'a non-owner changes nothing',
      );
      await store.markDelivered('one', [first.id], now, false);
      const claimed = await second.claim({ owner: 'two', limit: 10, now: Date.now(), leaseMs: LEASE_MS });
      assert.deepStrictEqual(idsOf(claimed), [next.id], 'the key flows once delivered');
    }),
  ];
}
