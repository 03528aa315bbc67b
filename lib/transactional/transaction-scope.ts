import type { Message } from '../kernel/message.interface.js';
import { OutboxWriteError } from '../kernel/outbox.errors.js';
import type { SqlStatement, TransactionalOutboxStore } from '../kernel/outbox-store.interface.js';

/**
 * The messages added during one database transaction (or one savepoint):
 * inserted through that transaction just before it commits, forgotten if
 * its callback throws.
 */
export class TransactionScope {
  private readonly messages: Message[] = [];
  private store: TransactionalOutboxStore | undefined;
  private readonly afterCommit: (() => void)[] = [];

  /** @param parent the enclosing transaction, for a savepoint. */
  constructor(readonly parent: TransactionScope | undefined) {}

  /**
   * Queues `message` for this transaction; `store` writes it. `onCommit` (given with the first
   * message) gets all of them once the outermost transaction committed.
   */
  add(message: Message, store: TransactionalOutboxStore, onCommit: (messages: readonly Message[]) => void): void {
    this.store ??= store;
    if (this.messages.length === 0) {
      this.afterCommit.push(() => {
        onCommit(this.messages);
      });
    }
    this.messages.push(message);
  }

  /** Inserts the queued messages through `execute` (the transaction's own connection). */
  async write(execute: (statement: SqlStatement) => Promise<unknown>): Promise<void> {
    if (this.store === undefined || this.messages.length === 0) return;
    try {
      await execute(this.store.appendStatement(this.messages));
    } catch (error) {
      // Rethrown inside the transaction callback: the transaction rolls back with its messages.
      throw new OutboxWriteError(
        this.messages,
        `the transaction could not insert them: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  /** A savepoint that was released: its messages now commit (or roll back) with the enclosing transaction. */
  released(): void {
    this.parent?.afterCommit.push(...this.afterCommit);
  }

  /** The outermost transaction committed. */
  committed(): void {
    for (const callback of this.afterCommit) callback();
  }
}
