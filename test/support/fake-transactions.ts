import { Test, type TestingModule } from '@nestjs/testing';
import type { Message } from '../../lib/kernel/message.interface.js';
import type { SqlStatement } from '../../lib/kernel/outbox-store.interface.js';
import { MessagingModule } from '../../lib/module/messaging.module.js';
import { MessageQueue } from '../../lib/request/message-queue.service.js';
import { MemoryOutboxStore } from '../../lib/stores/memory-outbox.store.js';
import { CapturingMessenger } from '../../lib/testing/capturing.messenger.js';
import {
  withTransactionalOutbox,
  type TransactionalAdapterOptionsLike,
} from '../../lib/transactional/with-transactional-outbox.js';

// The real @nestjs-cls/transactional is CommonJS on top of ESM-only Nest, which Jest cannot load:
// test/transactional.e2e-spec.ts runs it for real. The unit specs of lib/transactional use this fake
// adapter and host to pin down the rules.

/** A fake transaction: the statements run on it. */
export class FakeTx {
  readonly statements: SqlStatement[] = [];
}

/** A store that can join transactions: its statement lists the topics it would insert. */
export class SqlMemoryStore extends MemoryOutboxStore {
  appendStatement(messages: readonly Message[]): SqlStatement {
    return { text: 'INSERT', values: messages.map(({ topic }) => topic) };
  }
}

/** The fake's state: what TransactionHost sees, what committed, and a hook run while a transaction writes. */
export const fake: {
  /** The transaction TransactionHost reports (undefined: none, as in Propagation.NotSupported). */
  current: FakeTx | undefined;
  readonly committed: FakeTx[];
  /** Runs while the transaction writes its messages (in its async context): what late work would do then. */
  duringWrite: (() => void) | undefined;
} = { current: undefined, committed: [], duringWrite: undefined };

const host = {
  isTransactionActive: () => fake.current !== undefined,
  get tx(): unknown {
    return fake.current;
  },
};

/** What @nestjs-cls/transactional's TypeORM adapter does, with fake transactions; savepoints merge on release. */
const fakeAdapter = {
  optionsFactory: (): TransactionalAdapterOptionsLike<FakeTx> => ({
    wrapWithTransaction: async (_options, fn, setTx) => {
      const tx = new FakeTx();
      const outer = fake.current;
      fake.current = tx;
      setTx(tx);
      try {
        const result = await fn();
        fake.committed.push(tx);
        return result;
      } finally {
        fake.current = outer;
      }
    },
    wrapWithNestedTransaction: async (_options, fn, setTx, outerTx) => {
      const savepoint = new FakeTx();
      fake.current = savepoint;
      setTx(savepoint);
      try {
        const result = await fn();
        outerTx.statements.push(...savepoint.statements);
        return result;
      } finally {
        fake.current = outerTx;
      }
    },
    getFallbackInstance: () => new FakeTx(),
  }),
};

const wrapped = withTransactionalOutbox(
  fakeAdapter,
  (tx, statement) => {
    tx.statements.push(statement);
    fake.duringWrite?.();
    return Promise.resolve();
  },
  { transactionHost: () => host },
);

/** The adapter options of the running test app, built in its DI as ClsPluginTransactional builds them (spread). */
const ADAPTER_OPTIONS = 'ADAPTER_OPTIONS';

/** A test app with the wrapped fake adapter. */
export interface FakeTransactionalApp {
  readonly moduleRef: TestingModule;
  readonly queue: MessageQueue;
  inTransaction(fn: () => Promise<unknown>): Promise<unknown>;
  inSavepoint(fn: () => Promise<unknown>): Promise<unknown>;
  /** Closes the app and resets the fake. */
  close(): Promise<void>;
}

/** Compiles an app on `outbox` with the wrapped fake adapter. */
export async function startFakeTransactionalApp(
  outbox: MemoryOutboxStore,
  maxMessagesPerRequest?: number,
): Promise<FakeTransactionalApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [MessagingModule.forRoot({ messenger: new CapturingMessenger(), outbox, maxMessagesPerRequest })],
    providers: [
      {
        provide: ADAPTER_OPTIONS,
        useFactory: (): TransactionalAdapterOptionsLike<FakeTx> => ({ ...wrapped.optionsFactory() }),
      },
    ],
  }).compile();
  const tx = moduleRef.get<TransactionalAdapterOptionsLike<FakeTx>>(ADAPTER_OPTIONS);
  return {
    moduleRef,
    queue: moduleRef.get(MessageQueue),
    inTransaction: (fn) => tx.wrapWithTransaction({} as never, fn, () => undefined),
    inSavepoint: (fn) => {
      const outer = fake.current;
      if (tx.wrapWithNestedTransaction === undefined || outer === undefined)
        throw new Error('no transaction to nest in');
      return tx.wrapWithNestedTransaction({} as never, fn, () => undefined, outer);
    },
    close: async () => {
      fake.committed.splice(0);
      fake.current = undefined;
      fake.duringWrite = undefined;
      await moduleRef.close();
    },
  };
}
