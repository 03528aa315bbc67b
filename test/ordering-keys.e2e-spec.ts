import { Test, type TestingModule } from '@nestjs/testing';
import {
  MessageQueue,
  MessagingModule,
  MessagingOptionsError,
  MessengerSendError,
  type Message,
  type Messenger,
  type OnKeyFailure,
} from 'nestjs-messaging';
import type { OutboxStore } from '../lib/kernel/outbox-store.interface.js';
import { outboxStoreKinds } from './support/outbox-store-kinds.js';
import { sleep, waitFor } from './support/wait-for.js';

/**
 * Records deliveries (with the time each send ended) and which ordering keys had sends
 * overlapping; `refuse` decides per message whether the broker refuses it this time (counted).
 */
class KeyedBus implements Messenger {
  readonly delivered: { message: Message; at: number }[] = [];
  /** The most sends in flight at once, and the most of one key. */
  maxOverall = 0;
  maxPerKey = 0;
  refuse: (message: Message) => boolean = () => false;
  private overall = 0;
  private readonly running = new Map<string, number>();

  async send(messages: readonly Message[]): Promise<void> {
    const keys = new Set(messages.flatMap(({ key }) => (key === null ? [] : [key])));
    for (const key of keys) {
      const count = (this.running.get(key) ?? 0) + 1;
      this.running.set(key, count);
      this.maxPerKey = Math.max(this.maxPerKey, count);
    }
    this.maxOverall = Math.max(this.maxOverall, ++this.overall);
    try {
      await sleep(5 + Math.random() * 10);
      const refused = messages.filter((message) => this.refuse(message));
      const accepted = messages.filter((message) => !refused.includes(message));
      for (const message of accepted) this.delivered.push({ message, at: Date.now() });
      if (refused.length > 0)
        throw new MessengerSendError({
          acceptedIds: accepted.map(({ id }) => id),
          failures: refused.map(({ id }) => ({ messageId: id, reason: 'rejected: refused once', counted: true })),
        });
    } finally {
      this.overall--;
      for (const key of keys) this.running.set(key, (this.running.get(key) ?? 1) - 1);
    }
  }

  /** The `n` of each delivered message of `key`, in the order the bus got them. */
  orderOf(key: string | null): number[] {
    return this.delivered.filter(({ message }) => message.key === key).map(({ message }) => message.body.n as number);
  }
}

const kinds = outboxStoreKinds('ordering-keys');

describe.each(kinds)('ordering keys on the $name', (kind) => {
  let moduleRef: TestingModule | undefined;
  let store: OutboxStore | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    if (store !== undefined) await kind.close(store);
    moduleRef = undefined;
    store = undefined;
  });

  async function start(
    bus: Messenger,
    onFailure: OnKeyFailure | ((key: string) => OnKeyFailure) = 'step-aside',
    { batchSize = 4, retryMs = 150 } = {},
  ) {
    store = kind.open();
    const retry = { initialDelayMs: retryMs, jitter: 0 };
    moduleRef = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({
          messenger: bus,
          outbox: store,
          dispatch: { batchSize, pollIntervalMs: 50, retry, ordering: { onFailure } },
        }),
      ],
    }).compile();
    await moduleRef.init();
    return moduleRef.get(MessageQueue);
  }

  it('keeps each key in order on one topic, and sends different keys side by side', async () => {
    const bus = new KeyedBus();
    const queue = await start(bus);
    const keys = ['a', 'b', 'c', 'd'];
    const accepted = new Map<string, number[]>(keys.map((key) => [key, []]));
    let n = 0;
    // One run after the other: on PostgreSQL a key's order is commit order, which concurrent runs leave open.
    for (let run = 0; run < 30; run++) {
      await queue.run(() => {
        for (const key of keys) {
          queue.add('.one.topic', { n }, { key });
          accepted.get(key)?.push(n++);
        }
      });
    }
    await waitFor(() => bus.delivered.length >= n, 15_000, 'every delivery');
    for (const key of keys) expect(bus.orderOf(key)).toEqual(accepted.get(key));
    expect(bus.maxPerKey).toBe(1);
    // One topic, several keys: sends overlapped (the topic alone would have serialised them).
    expect(bus.maxOverall).toBeGreaterThan(1);
  });

  it('sends messages without a key in parallel, never held by a key that waits', async () => {
    const bus = new KeyedBus();
    let refusals = 0;
    bus.refuse = ({ body }) => body.n === 0 && refusals++ === 0;
    // One message per send: the refused head is alone in its batch (see the README on hold).
    const queue = await start(bus, 'hold', { batchSize: 1, retryMs: 1000 });
    await queue.run(() => {
      queue.add('.held', { n: 0 }, { key: 'held' });
      queue.add('.held', { n: 1 }, { key: 'held' });
      for (let i = 2; i < 22; i++) queue.add('.held', { n: i }, { key: null });
    });
    await waitFor(() => bus.orderOf(null).length === 20, 10_000, 'the messages without a key');
    // The key's head was refused and holds it: its next message waits, the unkeyed ones did not.
    expect(bus.orderOf('held')).toEqual([]);
    expect(bus.maxOverall).toBeGreaterThan(1);
    await waitFor(() => bus.orderOf('held').length === 2, 10_000, 'the held key after its retry');
    expect(bus.orderOf('held')).toEqual([0, 1]);
  });

  it.each([
    ['step-aside', [0, 2, 3, 1]],
    ['hold', [0, 1, 2, 3]],
  ] as const)('onFailure %s: a refused head %s', async (onFailure, order) => {
    const bus = new KeyedBus();
    let refusals = 0;
    bus.refuse = ({ body }) => body.n === 1 && refusals++ === 0;
    const queue = await start(bus, (key) => (key === 'k' ? onFailure : 'step-aside'), { batchSize: 1 });
    await queue.run(() => {
      for (let i = 0; i < 4; i++) queue.add('.k', { n: i }, { key: 'k' });
    });
    await waitFor(() => bus.orderOf('k').length === 4, 10_000, 'all four');
    expect(bus.orderOf('k')).toEqual(order);
    expect(refusals).toBeGreaterThanOrEqual(2);
  });

  it('delays a message to its time, its key behind it; other keys and unkeyed messages go on', async () => {
    const bus = new KeyedBus();
    const queue = await start(bus);
    const availableAt = Date.now() + 400;
    await queue.run(() => {
      queue.add('.d', { n: 0 }, { key: 'late', availableAt: new Date(availableAt) });
      queue.add('.d', { n: 1 }, { key: 'late' });
      queue.add('.d', { n: 2 }, { key: 'other' });
      queue.add('.d', { n: 3 }, { key: null, delay: 400 });
      queue.add('.d', { n: 4 }, { key: null });
    });
    await waitFor(() => bus.orderOf('other').length === 1 && bus.orderOf(null).includes(4), 5000, 'the undelayed');
    expect(bus.orderOf('late')).toEqual([]);
    await waitFor(() => bus.delivered.length === 5, 10_000, 'the delayed ones');
    expect(bus.orderOf('late')).toEqual([0, 1]);
    // Not before their time (the store's clock may round to the ms).
    const at = (n: number): number => bus.delivered.find(({ message }) => message.body.n === n)?.at ?? 0;
    expect(at(0)).toBeGreaterThanOrEqual(availableAt - 1);
    expect(at(3)).toBeGreaterThanOrEqual(availableAt - 1);
  });

  it('keeps a caller-supplied id, and takes a duplicate of it as a no-op', async () => {
    const bus = new KeyedBus();
    const queue = await start(bus);
    await queue.run(() => {
      queue.add('.orders.placed', { n: 1 }, { id: 'order-42:placed', delay: 300 });
    });
    await queue.run(() => {
      queue.add('.orders.placed', { n: 2 }, { id: 'order-42:placed' });
    });
    // The first is still delayed: the store holds it alone.
    expect(await store?.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
    await waitFor(() => bus.delivered.length === 1, 5000, 'the delivery');
    expect(bus.delivered.map(({ message }) => [message.id, message.body.n])).toEqual([['order-42:placed', 1]]);
    await expect(queue.run(() => queue.add('.x', {}, { id: 'has space' }))).rejects.toThrow(
      new MessagingOptionsError(
        ['id: expected 1 to 128 characters without whitespace or control characters, got "has space"'],
        'options of the message on topic ".x"',
      ),
    );
  });
});
