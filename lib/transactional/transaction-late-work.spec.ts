import { MessageLimitError, MessagingContextClosedError } from '../kernel/messaging.errors.js';
import type { MessageQueue } from '../request/message-queue.service.js';
import type { MemoryOutboxStore } from '../stores/memory-outbox.store.js';
import {
  fake,
  SqlMemoryStore,
  startFakeTransactionalApp,
  type FakeTransactionalApp,
} from '../../test/support/fake-transactions.js';

// Work a transaction callback starts and does not await may call add() after the callback settled:
// while the messages are written, after commit, after a rollback, after a savepoint. Each such add()
// must throw, never return a message the transaction does not insert.
describe('withTransactionalOutbox and late work', () => {
  let app: FakeTransactionalApp;
  let queue: MessageQueue;
  let store: MemoryOutboxStore;
  let inTransaction: FakeTransactionalApp['inTransaction'];
  let inSavepoint: FakeTransactionalApp['inSavepoint'];

  async function start(outbox: MemoryOutboxStore): Promise<void> {
    store = outbox;
    app = await startFakeTransactionalApp(outbox);
    ({ queue, inTransaction, inSavepoint } = app);
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

  afterEach(() => app.close());

  it('refuses an add() from un-awaited work once the transaction writes its messages, naming the topic', async () => {
    await start(new SqlMemoryStore());
    let late: unknown;
    await inTransaction(() => {
      queue.add('.inside', {});
      // The writer calls this in the transaction's async context, as work the callback started would run.
      fake.duringWrite = () => {
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
    expect(fake.committed.map(({ statements }) => statements)).toEqual([[{ text: 'INSERT', values: ['.inside'] }]]);
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
    expect(fake.committed[0].statements).toEqual([{ text: 'INSERT', values: ['.outer'] }]);
  });

  it('caps a transaction at maxMessagesPerRequest: the next add() throws MessageLimitError naming the option', async () => {
    app = await startFakeTransactionalApp(new SqlMemoryStore(), 2);
    const { queue, inTransaction } = app;
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
    expect(fake.committed[0].statements).toEqual([{ text: 'INSERT', values: ['.a', '.b'] }]);
  });
});
