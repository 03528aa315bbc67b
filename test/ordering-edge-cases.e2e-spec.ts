import { Test, type TestingModule } from '@nestjs/testing';
import { MessageQueue, MessagingModule, MessengerSendError, type Message, type Messenger } from 'nestjs-messaging';
import type { OutboxStore } from '../lib/kernel/outbox-store.interface.js';
import { outboxStoreKinds } from './support/outbox-store-kinds.js';
import { waitFor } from './support/wait-for.js';

/*
 * Ordering cases found by review: what keeps a message's place in its key's line, on the memory,
 * SQLite and PostgreSQL stores, through MessagingModule's dispatcher.
 */

/** Records what the bus took; `fail` may fail a message uncounted, with a `retryAt`. */
class LineBus implements Messenger {
  readonly delivered: Message[] = [];
  fail: (message: Message) => { retryAt: number } | undefined = () => undefined;

  send(messages: readonly Message[]): Promise<void> {
    const failed = messages.flatMap((message) => {
      const failure = this.fail(message);
      return failure === undefined ? [] : [{ message, ...failure }];
    });
    const accepted = messages.filter((message) => !failed.some((f) => f.message === message));
    this.delivered.push(...accepted);
    if (failed.length === 0) return Promise.resolve();
    return Promise.reject(
      new MessengerSendError({
        acceptedIds: accepted.map(({ id }) => id),
        failures: failed.map(({ message, retryAt }) => ({
          messageId: message.id,
          reason: 'address not attachable yet',
          counted: false,
          retryAt,
        })),
      }),
    );
  }

  orderOf(key: string): number[] {
    return this.delivered.filter((message) => message.key === key).map(({ body }) => body.n as number);
  }
}

const kinds = outboxStoreKinds('ordering-edge');

describe.each(kinds)('ordering edge cases on the $name', (kind) => {
  let moduleRef: TestingModule | undefined;
  let store: OutboxStore | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    if (store !== undefined) await kind.close(store);
    moduleRef = undefined;
    store = undefined;
  });

  async function start(bus: Messenger): Promise<MessageQueue> {
    store = kind.open();
    moduleRef = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({
          messenger: bus,
          outbox: store,
          dispatch: { batchSize: 1, pollIntervalMs: 50, retry: { initialDelayMs: 50, jitter: 0 } },
        }),
      ],
    }).compile();
    await moduleRef.init();
    return moduleRef.get(MessageQueue);
  }

  it('an uncounted failure with a retryAt keeps its place: the key waits for it (step-aside is for counted ones)', async () => {
    const bus = new LineBus();
    let retryAt = 0;
    bus.fail = ({ body }) => {
      if (body.n !== 0 || retryAt !== 0) return undefined;
      retryAt = Date.now() + 400;
      return { retryAt };
    };
    const queue = await start(bus);
    await queue.run(() => {
      for (let n = 0; n < 3; n++) queue.add('.line', { n }, { key: 'line' });
    });
    await waitFor(() => bus.orderOf('line').length === 3, 10_000, 'the three messages');
    expect(retryAt).toBeGreaterThan(0);
    expect(bus.orderOf('line')).toEqual([0, 1, 2]);
  });

  it("with delivery: 'await', a caller-supplied id repeated in one run, or in two runs at once, does not hold a response", async () => {
    const bus = new LineBus();
    store = kind.open();
    moduleRef = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({
          messenger: bus,
          outbox: store,
          delivery: 'await',
          dispatch: { pollIntervalMs: 50, awaitTimeoutMs: 60_000 },
        }),
      ],
    }).compile();
    await moduleRef.init();
    const queue = moduleRef.get(MessageQueue);
    let settled = 0;
    const runs = [
      queue.run(() => {
        queue.add('.dup', { n: 1 }, { id: 'dup-1' });
        queue.add('.dup', { n: 2 }, { id: 'dup-1' });
      }),
      queue.run(() => queue.add('.dup', { n: 3 }, { id: 'dup-2' })),
      queue.run(() => queue.add('.dup', { n: 4 }, { id: 'dup-2' })),
    ].map((run) =>
      run.then(() => {
        settled++;
      }),
    );
    await waitFor(() => settled === 3, 10_000, 'the three runs (awaitTimeoutMs is 60 s)');
    await Promise.all(runs);
    // dup-1 once; dup-2 at least once (the second run may add it after the first copy was delivered and deleted).
    const ids = bus.delivered.map(({ id }) => id);
    expect(ids.filter((id) => id === 'dup-1')).toEqual(['dup-1']);
    expect(ids).toContain('dup-2');
  });
});
