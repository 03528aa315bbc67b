import { jest } from '@jest/globals';
import { createMessage } from '../kernel/message.factory.js';
import { OutboxFullError, OutboxWriteError } from '../kernel/outbox.errors.js';
import { MemoryOutboxStore } from './memory-outbox.store.js';

// The behaviour every store shares is in outbox-store.spec.ts.
describe('MemoryOutboxStore bound', () => {
  it('refuses a request that does not fit, whole, with an OutboxWriteError naming ids and topics', async () => {
    const store = new MemoryOutboxStore({ maxMessages: 3 });
    await store.append([createMessage('.a', {}), createMessage('.a', {})]);
    const overflow = [createMessage('.b', {}), createMessage('.c', {})];
    const refusal = store.append(overflow);
    await expect(refusal).rejects.toThrow(OutboxWriteError);
    await expect(refusal).rejects.toThrow(
      `(${overflow[0].id}, ${overflow[1].id}): the memory outbox is full (maxMessages 3)`,
    );
    expect(await store.counts()).toEqual({ pending: 2, delivered: 0, dead: 0 });
  });

  it('appendNow() refuses synchronously with an OutboxFullError (HTTP 503 for Nest) and keeps none of them', async () => {
    const store = new MemoryOutboxStore({ maxMessages: 2 });
    store.appendNow([createMessage('.a', {})]);
    const overflow = [createMessage('.b', {}), createMessage('.b', {})];
    let refusal: unknown;
    try {
      store.appendNow(overflow);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(OutboxFullError);
    expect(refusal).toBeInstanceOf(OutboxWriteError);
    expect(refusal).toMatchObject({ statusCode: 503, status: 503, expose: false, maxMessages: 2, topics: ['.b'] });
    expect(await store.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
  });

  it('rejects a bad bound at construction, naming the option', () => {
    expect(() => new MemoryOutboxStore({ maxMessages: 0 })).toThrow('maxMessages: expected a whole number >= 1, got 0');
    expect(() => new MemoryOutboxStore({ compactFrom: -1 })).toThrow(
      'compactFrom: expected a whole number >= 0, got -1',
    );
  });
});

// The contract suite also runs with compactFrom 0 (outbox-store.spec.ts); these cover the switch between forms.
describe('MemoryOutboxStore backlog held compactly (compactFrom)', () => {
  const body = { release: { id: 7, tags: ['a', 'b'], notes: null }, ok: true };

  it('hands out and lists messages held beyond compactFrom as they were accepted: equal, deep-frozen, same times', async () => {
    const store = new MemoryOutboxStore({ compactFrom: 1 });
    const messages = [
      createMessage('.a', body),
      createMessage('.a', body, { headers: { trace: 'x', n: 1 }, key: null }),
      createMessage('.b', body, { key: 'k' }),
    ];
    const before = Date.now();
    await store.append(messages);
    const listed = await store.list({}, 10);
    expect(listed.map((entry) => entry.message)).toEqual(messages);
    for (const entry of listed) {
      expect(entry).toMatchObject({ status: 'pending', attempts: 0, history: [] });
      expect(entry.createdAt).toBeGreaterThanOrEqual(before);
      expect(entry.nextAttemptAt).toBe(entry.createdAt);
      expect(entry.lease).toBeUndefined();
    }
    const claimed = await store.claim({ owner: 'o', limit: 10, now: Date.now(), leaseMs: 60_000 });
    expect(claimed.map((entry) => entry.message)).toEqual(messages);
    const release = claimed[1].message.body.release as { tags: string[] };
    expect(Object.isFrozen(claimed[1].message.body)).toBe(true);
    expect(Object.isFrozen(release.tags)).toBe(true);
    expect(claimed.map((entry) => entry.createdAt)).toEqual(listed.map((entry) => entry.createdAt));
    // Claimed: leased like any message, settled by its owner.
    expect((await store.list({}, 10)).every((entry) => entry.lease?.owner === 'o')).toBe(true);
    await store.markDelivered('o', [messages[0].id, messages[1].id], Date.now(), false);
    expect(await store.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
  });

  it('gives a compact message back deep-equal to what add() returned, whatever JSON values its body holds', async () => {
    const store = new MemoryOutboxStore({ compactFrom: 0 });
    const values = {
      text: 'h\u00e9llo \u{1F600} \ud800 "q" \\ \u2028',
      numbers: [-0, 0.1, 1e300, 5e-324, 2 ** 53 + 2, -1e-7],
      nested: [[1, [2, [3, []]]], {}, { a: null }],
    };
    const message = createMessage('.a', values, { headers: { h: 'x' } });
    await store.append([message]);
    const [listed] = await store.list({}, 1);
    const [claimed] = await store.claim({ owner: 'o', limit: 1, now: Date.now(), leaseMs: 60_000 });
    for (const entry of [listed, claimed]) {
      expect(entry.message).toStrictEqual(message);
      expect(Object.isFrozen((entry.message.body.nested as unknown[][])[0][1])).toBe(true);
    }
  });

  it('gives back a message added without options, held in 5 fields, as it was: its time from its id', async () => {
    const store = new MemoryOutboxStore({ compactFrom: 0 });
    const plain = createMessage('.a', body);
    // Lookalikes held in full: an upper-case id, a UUIDv7 of another time.
    const upper = createMessage('.a', body, { id: plain.id.toUpperCase() });
    const other = createMessage('.a', body, { id: '01890a5d-ac96-774b-bcce-b302099a8057' });
    const messages = [plain, upper, other];
    // Stored 3 ms after add().
    const storedAt = plain.timestamp + 3;
    const clock = jest.spyOn(Date, 'now').mockReturnValue(storedAt);
    await store.append(messages);
    clock.mockRestore();
    const listed = await store.list({}, 10);
    const claimed = await store.claim({ owner: 'o', limit: 10, now: storedAt, leaseMs: 60_000 });
    for (const entries of [listed, claimed]) {
      expect(entries.map((entry) => entry.message)).toStrictEqual(messages);
      expect(entries[0].message.headers).toBe(plain.headers);
      expect(entries.map((entry) => [entry.createdAt, entry.nextAttemptAt])).toEqual(
        messages.map(() => [storedAt, storedAt]),
      );
    }
  });

  it.each([
    ['one ordering key', 'k'],
    ['no ordering key', null],
  ])('drains a long lane (%s) in order, a retried dead message back in its place', async (_name, key) => {
    const store = new MemoryOutboxStore({ compactFrom: 100 });
    const messages = Array.from({ length: 2500 }, (_, n) => createMessage('.a', { n }, { key }));
    await store.append(messages);
    const sent: number[] = [];
    let now = Date.now() + 1;
    let dead: string | undefined;
    let retriedAfter: number | undefined;
    for (;;) {
      const claimed = await store.claim({ owner: 'o', limit: 100, now, leaseMs: 60_000 });
      if (claimed.length === 0) break;
      // Message 1500 dies once (the rest of its lane goes on), and is retried once 2,000 were sent.
      const dying = dead === undefined ? claimed.find((entry) => entry.message.body.n === 1500) : undefined;
      if (dying !== undefined) {
        dead = dying.message.id;
        await store.reschedule('o', [{ id: dead, error: 'x', counted: true, nextAttemptAt: undefined }], now);
      }
      const delivered = claimed.filter((entry) => entry !== dying);
      await store.markDelivered(
        'o',
        delivered.map((entry) => entry.message.id),
        now,
        false,
      );
      for (const entry of delivered) sent.push(entry.message.body.n as number);
      if (retriedAfter === undefined && sent.length >= 2000) {
        retriedAfter = sent.length;
        expect(await store.retry({ status: 'dead' }, now)).toBe(1);
      }
      now++;
    }
    // In order, but 1500, which comes back as the oldest pending message at its retry.
    const order = messages.map((_, n) => n).filter((n) => n !== 1500);
    order.splice(retriedAfter ?? -1, 0, 1500);
    expect(sent).toEqual(order);
    expect(await store.counts()).toEqual({ pending: 0, delivered: 0, dead: 0 });
    expect(await store.nextDueAt()).toBeUndefined();
  });

  it.each([
    ['one ordering key', 'k'],
    ['no ordering key', null],
  ])(
    'drains a long lane (%s) past a message waiting for its retry at its head, which goes when due',
    async (_name, key) => {
      const store = new MemoryOutboxStore({ compactFrom: 100 });
      const messages = Array.from({ length: 2500 }, (_, n) => createMessage('.a', { n }, { key }));
      await store.append(messages);
      const now = Date.now() + 1;
      const [first] = await store.claim({ owner: 'o', limit: 1, now, leaseMs: 60_000 });
      const retryAt = now + 60_000;
      await store.reschedule('o', [{ id: first.message.id, error: 'x', counted: true, nextAttemptAt: retryAt }], now);
      const sent: number[] = [];
      for (;;) {
        const claimed = await store.claim({ owner: 'o', limit: 100, now, leaseMs: 60_000 });
        if (claimed.length === 0) break;
        await store.markDelivered(
          'o',
          claimed.map((entry) => entry.message.id),
          now,
          false,
        );
        for (const entry of claimed) sent.push(entry.message.body.n as number);
      }
      expect(sent).toEqual(messages.slice(1).map((_, n) => n + 1));
      expect(await store.nextDueAt()).toBe(retryAt);
      const due = await store.claim({ owner: 'o', limit: 100, now: retryAt, leaseMs: 60_000 });
      expect(due.map((entry) => entry.message.id)).toEqual([first.message.id]);
    },
  );

  it('filters compact messages by id, topic and key, and keeps a delayed one holding its key', async () => {
    const store = new MemoryOutboxStore({ compactFrom: 0 });
    const now = Date.now();
    const delayed = createMessage('.a', body);
    const behind = createMessage('.a', body);
    const other = createMessage('.b', body, { key: null });
    await store.append([delayed, behind, other], { availableAt: new Map([[delayed.id, now + 60_000]]) });
    const claimAt = Date.now();
    expect((await store.list({ ids: [behind.id] }, 10)).map((entry) => entry.message.id)).toEqual([behind.id]);
    expect((await store.list({ topic: '.b' }, 10)).map((entry) => entry.message.id)).toEqual([other.id]);
    expect((await store.list({ key: null }, 10)).map((entry) => entry.message.id)).toEqual([other.id]);
    const claimed = await store.claim({ owner: 'o', limit: 10, now: claimAt, leaseMs: 60_000 });
    expect(claimed.map((entry) => entry.message.id)).toEqual([other.id]);
    expect(await store.nextDueAt()).toBe(now + 60_000);
  });

  it('claims messages without a key each on its own: one leased to another owner blocks none of the rest', async () => {
    const store = new MemoryOutboxStore({ compactFrom: 2 });
    const messages = [0, 1, 2, 3].map((index) => createMessage('.free', { index }, { key: null }));
    await store.append(messages);
    // Claimed after storing: a message is due from when it was stored.
    const now = Date.now();
    const first = await store.claim({ owner: 'a', limit: 1, now, leaseMs: 60_000 });
    const rest = await store.claim({ owner: 'b', limit: 10, now, leaseMs: 60_000 });
    expect(first.map((entry) => entry.message.id)).toEqual([messages[0].id]);
    expect(rest.map((entry) => entry.message.id)).toEqual(messages.slice(1).map(({ id }) => id));
    await store.markDelivered('b', [messages[2].id], now, false);
    await store.reschedule('a', [{ id: messages[0].id, error: 'down', counted: true, nextAttemptAt: now + 5 }], now);
    expect((await store.list({ status: 'pending' }, 10)).map((entry) => entry.message.id)).toEqual([
      messages[0].id,
      messages[1].id,
      messages[3].id,
    ]);
    // The rescheduled one is due again at now + 5; b still leases the other two.
    expect(await store.nextDueAt()).toBe(now + 5);
  });
});
