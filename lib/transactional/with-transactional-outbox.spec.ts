import { Test, type TestingModule } from '@nestjs/testing';
import { MessageQueue } from '../request/message-queue.service.js';
import type { Message } from '../kernel/message.interface.js';
import {
  MessageLimitError,
  MessagingContextClosedError,
  MessagingContextError,
  MessagingOptionsError,
} from '../kernel/messaging.errors.js';
import { MessagingModule } from '../module/messaging.module.js';
import type { SqlStatement } from '../kernel/outbox-store.interface.js';
import { MemoryOutboxStore } from '../stores/memory-outbox.store.js';
import { CapturingMessenger } from '../testing/capturing.messenger.js';
import { OutboxAdmin } from '../delivery/outbox-admin.service.js';
import { withTransactionalOutbox, type TransactionalAdapterOptionsLike } from './with-transactional-outbox.js';

// The real @nestjs-cls/transactional is CommonJS on top of ESM-only Nest, which Jest cannot load:
// test/transactional.e2e-spec.ts runs it for real. Here a fake adapter and host pin down the rules.

/** A fake transaction: the statements run on it, and whether it committed. */
class FakeTx {
  readonly statements: SqlStatement[] = [];
}

/** A store that can join transactions: its statement lists the topics it would insert. */
class SqlMemoryStore extends MemoryOutboxStore {
  appendStatement(messages: readonly Message[]): SqlStatement {
    return { text: 'INSERT', values: messages.map(({ topic }) => topic) };
  }
}

let current: FakeTx | undefined;
const host = {
  isTransactionActive: () => current !== undefined,
  get tx(): unknown {
    return current;
  },
};
const committed: FakeTx[] = [];

/** What @nestjs-cls/transactional's TypeORM adapter does, with fake transactions; savepoints merge on release. */
const fakeAdapter = {
  optionsFactory: (): TransactionalAdapterOptionsLike<FakeTx> => ({
    wrapWithTransaction: async (_options, fn, setTx) => {
      const tx = new FakeTx();
      const outer = current;
      current = tx;
      setTx(tx);
      try {
        const result = await fn();
        committed.push(tx);
        return result;
      } finally {
        current = outer;
      }
    },
    wrapWithNestedTransaction: async (_options, fn, setTx, outerTx) => {
      const savepoint = new FakeTx();
      current = savepoint;
      setTx(savepoint);
      try {
        const result = await fn();
        outerTx.statements.push(...savepoint.statements);
        return result;
      } finally {
        current = outerTx;
      }
    },
    getFallbackInstance: () => new FakeTx(),
  }),
};

/** Runs while the transaction writes its messages: what late work would do at that moment. */
let duringWrite: (() => void) | undefined;
const wrapped = withTransactionalOutbox(
  fakeAdapter,
  (tx, statement) => {
    tx.statements.push(statement);
    duringWrite?.();
    return Promise.resolve();
  },
  { transactionHost: () => host },
);
/** The adapter options of the running test app, built in its DI as ClsPluginTransactional builds them (spread). */
const ADAPTER_OPTIONS = 'ADAPTER_OPTIONS';
const adapterOptionsProvider = {
  provide: ADAPTER_OPTIONS,
  useFactory: (): TransactionalAdapterOptionsLike<FakeTx> => ({ ...wrapped.optionsFactory() }),
};
let tx: TransactionalAdapterOptionsLike<FakeTx>;
const inTransaction = <T>(fn: () => Promise<T>): Promise<unknown> =>
  tx.wrapWithTransaction({} as never, fn, () => undefined);
const inSavepoint = <T>(fn: () => Promise<T>): Promise<unknown> =>
  tx.wrapWithNestedTransaction!({} as never, fn, () => undefined, current!);

describe('withTransactionalOutbox', () => {
  let moduleRef: TestingModule;
  let queue: MessageQueue;
  let store: MemoryOutboxStore;

  async function start(outbox: MemoryOutboxStore, maxMessagesPerRequest?: number): Promise<void> {
    store = outbox;
    moduleRef = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger: new CapturingMessenger(), outbox, maxMessagesPerRequest })],
      providers: [adapterOptionsProvider],
    }).compile();
    queue = moduleRef.get(MessageQueue);
    tx = moduleRef.get(ADAPTER_OPTIONS);
  }
  /**
   * Work started here and not awaited (a promise chain of this async context), which calls add() once
   * `go()` is called; `go()` gives what add() returned or threw.
   */
  function lateAdd(topic: string): { go: () => Promise<unknown> } {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const outcome = gate.then(() => {
      try {
        return queue.add(topic, {});
      } catch (error) {
        return error;
      }
    });
    return {
      go: () => {
        open();
        return outcome;
      },
    };
  }

  afterEach(async () => {
    committed.splice(0);
    current = undefined;
    duringWrite = undefined;
    await moduleRef.close();
  });

  it('inserts the messages of a transaction through it, once, as its last statement, outside any request', async () => {
    await start(new SqlMemoryStore());
    await inTransaction(async () => {
      queue.add('.a', { n: 1 });
      await Promise.resolve();
      queue.add('.b', { n: 2 });
      expect(current?.statements).toEqual([]);
    });
    expect(committed.map(({ statements }) => statements)).toEqual([[{ text: 'INSERT', values: ['.a', '.b'] }]]);
    expect((await store.counts()).pending).toBe(0);
    await expect(moduleRef.get(OutboxAdmin).stats()).resolves.toMatchObject({ sinceStart: { accepted: 2 } });
  });

  it('writes nothing when the transaction callback throws', async () => {
    await start(new SqlMemoryStore());
    await expect(
      inTransaction(() => {
        queue.add('.a', {});
        return Promise.reject(new Error('rolled back'));
      }),
    ).rejects.toThrow('rolled back');
    expect(committed).toEqual([]);
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
    expect(committed[0].statements.map(({ values }) => values)).toEqual([['.kept.savepoint'], ['.outer']]);
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
    expect(committed.map(({ statements }) => statements.map(({ values }) => values))).toEqual([[['.independent']]]);
  });

  it('leaves a message added where no transaction is active (NotSupported) to the request or run()', async () => {
    await start(new SqlMemoryStore());
    await queue.run(() =>
      inTransaction(async () => {
        const outer = current;
        current = undefined; // what Propagation.NotSupported does to TransactionHost
        queue.add('.outside', {});
        current = outer;
        return Promise.resolve();
      }),
    );
    expect(committed[0].statements).toEqual([]);
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

  it('refuses an add() from un-awaited work once the transaction writes its messages, naming the topic', async () => {
    await start(new SqlMemoryStore());
    let late: unknown;
    await inTransaction(() => {
      queue.add('.inside', {});
      // The writer calls this in the transaction's async context, as work the callback started would run.
      duringWrite = () => {
        try {
          late = queue.add('.late.writing', {});
        } catch (error) {
          late = error;
        }
      };
      return Promise.resolve();
    });
    expect(late).toBeInstanceOf(MessagingContextClosedError);
    expect(String(late)).toContain(
      'Cannot add a message on topic ".late.writing": the database transaction this code runs in has finished its callback',
    );
    expect(committed.map(({ statements }) => statements)).toEqual([[{ text: 'INSERT', values: ['.inside'] }]]);
  });

  it('refuses an add() from work a committed or rolled-back transaction started, even inside an open run()', async () => {
    await start(new SqlMemoryStore());
    const outcomes: Record<string, unknown> = {};
    await queue.run(async () => {
      let afterCommit = lateAdd('.late.committed');
      await inTransaction(() => {
        afterCommit = lateAdd('.late.committed');
        return Promise.resolve();
      });
      outcomes.committed = await afterCommit.go();
      let afterRollback = lateAdd('.late.rolled-back');
      await inTransaction(() => {
        afterRollback = lateAdd('.late.rolled-back');
        return Promise.reject(new Error('rolled back'));
      }).catch(() => undefined);
      outcomes.rolledBack = await afterRollback.go();
      queue.add('.run.own', {});
    });
    expect(outcomes.committed).toBeInstanceOf(MessagingContextClosedError);
    expect(outcomes.rolledBack).toBeInstanceOf(MessagingContextClosedError);
    expect(String(outcomes.rolledBack)).toContain('the database transaction this code runs in has rolled back');
    // Neither slipped into the run()'s messages; the run()'s own one was stored.
    expect((await store.list({}, 10)).map(({ message }) => message.topic)).toEqual(['.run.own']);
  });

  it('refuses an add() from work a savepoint started once the savepoint ended, while the outer transaction goes on', async () => {
    await start(new SqlMemoryStore());
    const outcomes: Record<string, unknown> = {};
    await inTransaction(async () => {
      let released = lateAdd('.late.released');
      await inSavepoint(() => {
        released = lateAdd('.late.released');
        return Promise.resolve();
      });
      outcomes.released = await released.go();
      let rolledBack = lateAdd('.late.savepoint-rolled-back');
      await inSavepoint(() => {
        rolledBack = lateAdd('.late.savepoint-rolled-back');
        return Promise.reject(new Error('savepoint rolled back'));
      }).catch(() => undefined);
      outcomes.rolledBack = await rolledBack.go();
      queue.add('.outer', {});
    });
    expect(String(outcomes.released)).toContain('the savepoint (nested transaction) this code runs in has finished');
    expect(String(outcomes.rolledBack)).toContain(
      'the savepoint (nested transaction) this code runs in has rolled back',
    );
    expect(committed[0].statements).toEqual([{ text: 'INSERT', values: ['.outer'] }]);
  });

  it('caps a transaction at maxMessagesPerRequest: the next add() throws MessageLimitError naming the option', async () => {
    await start(new SqlMemoryStore(), 2);
    let refused: unknown;
    await inTransaction(() => {
      queue.add('.a', {});
      queue.add('.b', {});
      try {
        queue.add('.c', {});
      } catch (error) {
        refused = error;
      }
      return Promise.resolve();
    });
    expect(refused).toBeInstanceOf(MessageLimitError);
    expect(String(refused)).toContain('this database transaction already holds 2 messages');
    expect(String(refused)).toContain('maxMessagesPerRequest');
    expect(committed[0].statements).toEqual([{ text: 'INSERT', values: ['.a', '.b'] }]);
  });

  it('refuses a message in a transaction that did not start through the wrapped adapter', async () => {
    await start(new SqlMemoryStore());
    current = new FakeTx();
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
      expect(committed[0].statements).toEqual([{ text: 'INSERT', values: ['.joined'] }]);
    } finally {
      await plain.close();
    }
  });
});
