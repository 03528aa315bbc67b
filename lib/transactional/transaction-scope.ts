import { appendOptionsOf } from '../kernel/message-schedule.js';
import type { Message } from '../kernel/message.interface.js';
import { MessagingContextClosedError } from '../kernel/messaging.errors.js';
import { OutboxWriteError } from '../kernel/outbox.errors.js';
import type { SqlStatement, TransactionalOutboxStore } from '../kernel/outbox-store.interface.js';

/** Orders `add()` calls across scopes, so that a released savepoint's messages merge in add order. */
let addOrder = 0;

/**
 * The messages added during one database transaction (or one savepoint):
 * inserted through that transaction just before it commits, forgotten if
 * its callback throws. Sealed when its callback settles: from then on its
 * messages are being written (or are gone), and a late `add()` throws.
 *
 * A savepoint writes nothing itself: once released, its messages join the
 * enclosing transaction's, in add order, and all are inserted in one
 * statement just before the outermost commit. So a transaction takes its
 * ordering keys' locks (PostgreSQL) once, sorted, and for the shortest time.
 */
export class TransactionScope {
  private messages: Message[] = [];
  /** `addOrder` of each message, ascending. */
  private orders: number[] = [];
  private store: TransactionalOutboxStore | undefined;
  private onCommit: ((messages: readonly Message[]) => void) | undefined;
  private state: 'open' | 'writing' | 'rolled back' = 'open';

  /** @param parent the enclosing transaction, for a savepoint. */
  constructor(readonly parent: TransactionScope | undefined) {}

  /** How many messages it holds. */
  get size(): number {
    return this.messages.length;
  }

  /**
   * Queues `message` for this transaction; `store` writes it. `onCommit` (given with the first
   * message) gets all of them once the outermost transaction committed.
   *
   * @throws MessagingContextClosedError once the transaction callback settled.
   */
  add(message: Message, store: TransactionalOutboxStore, onCommit: (messages: readonly Message[]) => void): void {
    this.assertOpen(message.topic);
    this.store ??= store;
    this.onCommit ??= onCommit;
    this.messages.push(message);
    this.orders.push(++addOrder);
  }

  /** The callback threw: the transaction (or savepoint) rolls back, and takes no more messages. */
  rolledBack(): void {
    this.state = 'rolled back';
  }

  /**
   * Seals the scope and inserts its messages through `execute` (the transaction's own
   * connection); a savepoint's wait for `released()` instead.
   */
  async write(execute: (statement: SqlStatement) => Promise<unknown>): Promise<void> {
    this.state = 'writing';
    if (this.parent !== undefined) return;
    if (this.store === undefined || this.messages.length === 0) return;
    try {
      // committed() hands them to this process's dispatcher: no need to wake every instance.
      await execute(this.store.appendStatement(this.messages, appendOptionsOf(this.messages, true)));
    } catch (error) {
      // Rethrown inside the transaction callback: the transaction rolls back with its messages.
      throw new OutboxWriteError(
        this.messages,
        `the transaction could not insert them: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * A savepoint that was released: its messages now commit (or roll back) with the enclosing
   * transaction, which inserts them with its own.
   * @throws MessagingContextClosedError when the enclosing transaction's callback already settled
   *   (the savepoint ran in work it did not await): its messages cannot join any more.
   */
  released(): void {
    const { parent } = this;
    if (parent === undefined || this.messages.length === 0) return;
    parent.assertOpen(this.messages[0]?.topic ?? '');
    parent.store ??= this.store;
    parent.onCommit ??= this.onCommit;
    const merged = [...parent.entries(), ...this.entries()].sort((a, b) => a.order - b.order);
    parent.messages = merged.map(({ message }) => message);
    parent.orders = merged.map(({ order }) => order);
  }

  private entries(): { message: Message; order: number }[] {
    return this.messages.map((message, index) => ({ message, order: this.orders[index] ?? 0 }));
  }

  /** The outermost transaction committed. */
  committed(): void {
    if (this.messages.length > 0) this.onCommit?.(this.messages);
  }

  /**
   * Work this transaction's callback started may add messages only while the callback runs.
   * @throws MessagingContextClosedError once the callback settled (the transaction is committing, committed or rolled back).
   */
  assertOpen(topic: string): void {
    if (this.state !== 'open') throw this.closedError(topic);
  }

  private closedError(topic: string): MessagingContextClosedError {
    const what = this.parent === undefined ? 'the database transaction' : 'the savepoint (nested transaction)';
    const why =
      this.state === 'writing'
        ? `${what} this code runs in has finished its callback: its messages were written (or are being written) and it commits without this one`
        : `${what} this code runs in has rolled back`;
    return new MessagingContextClosedError(
      topic,
      `${why}. This is work the transaction callback started without awaiting it; await it inside the transaction, ` +
        'or give it its own transaction or MessageQueue.run().',
    );
  }
}
