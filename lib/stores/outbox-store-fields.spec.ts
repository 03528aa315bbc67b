import { createMessage } from '../kernel/message.factory.js';
import { ATTEMPT_HISTORY_LIMIT } from '../kernel/outbox-entry.interface.js';
import type { OutboxStore } from '../kernel/outbox-store.interface.js';
import { MessagingOptionsError } from '../kernel/messaging.errors.js';
import { type PostgresOutboxStore } from './postgres/postgres-outbox.store.js';
import { outboxStoreKinds } from '../../test/support/outbox-store-kinds.js';

const LEASE = { leaseMs: 1000 };
const KINDS = outboxStoreKinds('outbox-fields-spec');

// The data every store keeps beside the message since schema version 2: ordering keys, first due
// times, attempt history and dead reasons.
describe.each(KINDS)('$name keeps keys, delays, history and dead reasons', (kind) => {
  let store: OutboxStore;
  beforeEach(() => {
    store = kind.open();
  });
  afterEach(() => kind.close(store));

  it('stores the ordering key: the topic by default, a given key, or null for none', async () => {
    const messages = [
      createMessage('.a', { n: 1 }),
      createMessage('.a', { n: 2 }, { key: 'order-42' }),
      createMessage('.b', { n: 3 }, { key: null }),
    ];
    await store.append(messages);
    const listed = await store.list({}, 10);
    expect(listed.map(({ message }) => message.key)).toEqual(['.a', 'order-42', null]);
    expect(listed.map(({ message }) => message)).toEqual(messages);
    expect(listed.map(({ history }) => history)).toEqual([[], [], []]);
    const claimed = await store.claim({ owner: 'o', limit: 10, now: Date.now(), ...LEASE });
    expect(claimed.map(({ message }) => message.key)).toEqual(['.a', 'order-42', null]);
  });

  it('stores a first due time per message (a delay): not claimable before it', async () => {
    const now = Date.now();
    const [later, atOnce] = [createMessage('.a', { n: 1 }, { key: null }), createMessage('.b', { n: 2 })];
    await store.append([later, atOnce], { availableAt: new Map([[later.id, now + 60_000]]) });
    const [entry] = await store.list({ ids: [later.id] }, 1);
    // The SQL stores keep times in their own clock: within a few ms of the caller's.
    expect(Math.abs(entry.nextAttemptAt - (now + 60_000))).toBeLessThan(50);
    const claimed = await store.claim({ owner: 'o', limit: 10, now: Date.now(), ...LEASE });
    expect(claimed.map(({ message }) => message.id)).toEqual([atOnce.id]);
    await store.markDelivered('o', [atOnce.id], Date.now(), false);
    const due = await store.claim({ owner: 'o', limit: 10, now: now + 60_100, ...LEASE });
    expect(due.map(({ message }) => message.id)).toEqual([later.id]);
  });

  it('appends an attempt record per failure, counted or not, and keeps the reason of a dead message', async () => {
    const message = createMessage('.a', {});
    await store.append([message]);
    const now = Date.now();
    await store.claim({ owner: 'o', limit: 1, now, ...LEASE });
    await store.reschedule(
      'o',
      [{ id: message.id, error: 'bus down', counted: false, nextAttemptAt: now, messenger: 'AmqpMessenger' }],
      now,
    );
    await store.claim({ owner: 'o', limit: 1, now: now + 1, ...LEASE });
    await store.reschedule(
      'o',
      [{ id: message.id, error: 'too big', counted: true, nextAttemptAt: undefined, deadReason: 'rejected' }],
      now + 1,
    );
    const [dead] = await store.list({ status: 'dead' }, 10);
    expect(dead).toMatchObject({ status: 'dead', attempts: 1, deadReason: 'rejected', lastError: 'too big' });
    expect(dead.history).toHaveLength(2);
    expect(dead.history.map(({ error, messenger, counted }) => ({ error, messenger, counted }))).toEqual([
      { error: 'bus down', messenger: 'AmqpMessenger', counted: false },
      { error: 'too big', messenger: '', counted: true },
    ]);
    expect(Math.abs(dead.history[0].at - now)).toBeLessThan(50);
    expect(Object.isFrozen(dead.history)).toBe(true);
    // A retry makes it pending again: no reason any more, the history kept.
    expect(await store.retry({ ids: [message.id] }, now + 2)).toBe(1);
    const [retried] = await store.list({ ids: [message.id] }, 1);
    expect('deadReason' in retried).toBe(false);
    expect(retried.history).toHaveLength(2);
  });

  it('defaults the dead reason to exhausted, and keeps at most ATTEMPT_HISTORY_LIMIT records, the latest', async () => {
    const message = createMessage('.a', {});
    await store.append([message]);
    const now = Date.now();
    const total = ATTEMPT_HISTORY_LIMIT + 3;
    for (let attempt = 1; attempt <= total; attempt++) {
      await store.claim({ owner: 'o', limit: 1, now: now + attempt, ...LEASE });
      const last = attempt === total;
      await store.reschedule(
        'o',
        [{ id: message.id, error: `failure ${String(attempt)}`, counted: true, nextAttemptAt: last ? undefined : now }],
        now + attempt,
      );
    }
    const [dead] = await store.list({ status: 'dead' }, 1);
    expect(dead).toMatchObject({ attempts: total, deadReason: 'exhausted' });
    expect(dead.history).toHaveLength(ATTEMPT_HISTORY_LIMIT);
    expect(dead.history[0].error).toBe('failure 4');
    expect(dead.history.at(-1)?.error).toBe(`failure ${String(total)}`);
  });

  if (kind.name === 'PostgresOutboxStore') {
    it('writes keys and first due times through appendStatement (the transactional path)', async () => {
      const postgres = store as PostgresOutboxStore;
      await postgres.onModuleInit();
      const now = Date.now();
      const messages = [createMessage('.t', { n: 1 }, { key: 'k' }), createMessage('.t', { n: 2 }, { key: null })];
      const { text, values } = postgres.appendStatement(messages, {
        availableAt: new Map([[messages[1].id, now + 30_000]]),
      });
      const pg = (await import('pg')).default;
      const client = new pg.Client({
        connectionString: (await import('../../test/support/brokers.js')).brokers().postgres.url,
      });
      await client.connect();
      try {
        await client.query(text, [...values]);
      } finally {
        await client.end();
      }
      const listed = await store.list({}, 10);
      expect(listed.map(({ message }) => message.key)).toEqual(['k', null]);
      expect(listed[0].nextAttemptAt).toBe(listed[0].createdAt);
      expect(Math.abs(listed[1].nextAttemptAt - (now + 30_000))).toBeLessThan(50);
    });
  }
});

describe('createMessage ordering key', () => {
  it('defaults to the topic, keeps a given key or null, and refuses anything else naming the option', () => {
    expect(createMessage('.a', {}).key).toBe('.a');
    expect(createMessage('.a', {}, { key: 'k' }).key).toBe('k');
    expect(createMessage('.a', {}, { key: null }).key).toBeNull();
    expect(() => createMessage('.a', {}, { key: '' })).toThrow(MessagingOptionsError);
    expect(() => createMessage('.a', {}, { key: 7 as unknown as string })).toThrow(
      'key: expected a non-empty string or null, got 7',
    );
  });
});
