import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Test, type TestingModule } from '@nestjs/testing';
import { DeliveryChannelNames, type MessageAcceptedEvent } from '../kernel/delivery-events.js';
import { MessageQueue } from '../request/message-queue.service.js';
import { MessagingContextError, MessagingOptionsError } from '../kernel/messaging.errors.js';
import { MessagingModule } from '../module/messaging.module.js';
import { MemoryOutboxStore } from '../stores/memory-outbox.store.js';
import { CapturingMessenger } from '../testing/capturing.messenger.js';
import { OutboxAdmin } from '../delivery/outbox-admin.service.js';
import {
  fake,
  FakeTx,
  SqlMemoryStore,
  startFakeTransactionalApp,
  type FakeTransactionalApp,
} from '../../test/support/fake-transactions.js';

describe('withTransactionalOutbox', () => {
  let app: FakeTransactionalApp;
  let moduleRef: TestingModule;
  let queue: MessageQueue;
  let store: MemoryOutboxStore;
  let inTransaction: FakeTransactionalApp['inTransaction'];
  let inSavepoint: FakeTransactionalApp['inSavepoint'];

  async function start(outbox: MemoryOutboxStore): Promise<void> {
    store = outbox;
    app = await startFakeTransactionalApp(outbox);
    ({ moduleRef, queue, inTransaction, inSavepoint } = app);
  }

  afterEach(() => app.close());

  it('inserts the messages of a transaction through it, once, as its last statement, outside any request', async () => {
    await start(new SqlMemoryStore());
    await inTransaction(async () => {
      queue.add('.a', { n: 1 });
      await Promise.resolve();
      queue.add('.b', { n: 2 });
      expect(fake.current?.statements).toEqual([]);
    });
    expect(fake.committed.map(({ statements }) => statements)).toEqual([[{ text: 'INSERT', values: ['.a', '.b'] }]]);
    expect((await store.counts()).pending).toBe(0);
    await expect(moduleRef.get(OutboxAdmin).stats()).resolves.toMatchObject({ sinceStart: { accepted: 2 } });
  });

  it('publishes message.accepted once the transaction committed, not when it rolled back', async () => {
    await start(new SqlMemoryStore());
    const accepted: MessageAcceptedEvent[] = [];
    const listener = (event: unknown): void => {
      accepted.push(event as MessageAcceptedEvent);
    };
    subscribe(DeliveryChannelNames.accepted, listener);
    try {
      let seenInTransaction = -1;
      await inTransaction(async () => {
        queue.add('.a', {});
        await Promise.resolve();
        seenInTransaction = accepted.length;
      });
      await expect(
        inTransaction(() => {
          queue.add('.rolled-back', {});
          return Promise.reject(new Error('rolled back'));
        }),
      ).rejects.toThrow('rolled back');
      expect(seenInTransaction).toBe(0);
      expect(accepted.map(({ message }) => message.topic)).toEqual(['.a']);
      expect(accepted[0].acceptedAt).toEqual(expect.any(Number));
    } finally {
      unsubscribe(DeliveryChannelNames.accepted, listener);
    }
  });

  it('writes nothing when the transaction callback throws', async () => {
    await start(new SqlMemoryStore());
    await expect(
      inTransaction(() => {
        queue.add('.a', {});
        return Promise.reject(new Error('rolled back'));
      }),
    ).rejects.toThrow('rolled back');
    expect(fake.committed).toEqual([]);
  });

  it('drops the messages of a savepoint that rolls back, and keeps the enclosing ones', async () => {
    await start(new SqlMemoryStore());
    await inTransaction(async () => {
      queue.add('.outer', {});
      await inSavepoint(async () => {
        queue.add('.kept.savepoint', {});
        return Promise.resolve();
      });
      await inSavepoint(() => {
        queue.add('.dropped.savepoint', {});
        return Promise.reject(new Error('savepoint rolled back'));
      }).catch(() => undefined);
    });
    // One statement, in add order: a released savepoint's messages join the enclosing transaction's.
    expect(fake.committed[0].statements.map(({ values }) => values)).toEqual([['.outer', '.kept.savepoint']]);
  });

  it('gives a RequiresNew transaction its own messages, which commit even when the enclosing one rolls back', async () => {
    await start(new SqlMemoryStore());
    await expect(
      inTransaction(async () => {
        queue.add('.outer', {});
        await inTransaction(() => Promise.resolve(queue.add('.independent', {})));
        queue.add('.outer.after', {});
        throw new Error('outer rolled back');
      }),
    ).rejects.toThrow('outer rolled back');
    expect(fake.committed.map(({ statements }) => statements.map(({ values }) => values))).toEqual([
      [['.independent']],
    ]);
  });

  it('leaves a message added where no transaction is active (NotSupported) to the request or run()', async () => {
    await start(new SqlMemoryStore());
    await queue.run(() =>
      inTransaction(async () => {
        const outer = fake.current;
        fake.current = undefined; // what Propagation.NotSupported does to TransactionHost
        queue.add('.outside', {});
        fake.current = outer;
        return Promise.resolve();
      }),
    );
    expect(fake.committed[0].statements).toEqual([]);
    expect((await store.list({}, 10)).map(({ message }) => message.topic)).toEqual(['.outside']);
  });

  it('fails start-up when the outbox cannot join transactions, and refuses such a message, naming the option', async () => {
    await start(new MemoryOutboxStore());
    await expect(moduleRef.init()).rejects.toThrow(
      'outbox: withTransactionalOutbox() is in use, which needs an outbox in the same database (PostgresOutboxStore); the configured store is MemoryOutboxStore',
    );
    // Built by hand, past the start-up check: the same refusal at the first message.
    await expect(inTransaction(() => Promise.resolve(queue.add('.a', {})))).rejects.toThrow(MessagingOptionsError);
    await expect(inTransaction(() => Promise.resolve(queue.add('.a', {})))).rejects.toThrow(
      'outbox: a message on topic ".a" was added inside a transaction, which needs an outbox in the same database (PostgresOutboxStore); the configured store is MemoryOutboxStore',
    );
  });

  it('refuses a message in a transaction that did not start through the wrapped adapter', async () => {
    await start(new SqlMemoryStore());
    fake.current = new FakeTx();
    expect(() => queue.add('.a', {})).toThrow(MessagingContextError);
    expect(() => queue.add('.a', {})).toThrow('did not start through the adapter given to withTransactionalOutbox()');
  });

  it('keeps each application to its own wrapped adapters: a second app in the process starts on a memory store', async () => {
    await start(new SqlMemoryStore());
    await moduleRef.init();
    // A second application, without the wrapper, in the same process: nothing of the first leaks into it.
    const plain = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger: new CapturingMessenger(), outbox: new MemoryOutboxStore() })],
    }).compile();
    try {
      await plain.init();
      const plainQueue = plain.get(MessageQueue);
      // Inside the first app's transaction, only the first app's queue joins it.
      await inTransaction(async () => {
        expect(() => plainQueue.add('.plain', {})).toThrow(MessagingContextError);
        queue.add('.joined', {});
        await Promise.resolve();
      });
      expect(fake.committed[0].statements).toEqual([{ text: 'INSERT', values: ['.joined'] }]);
    } finally {
      await plain.close();
    }
  });
});
