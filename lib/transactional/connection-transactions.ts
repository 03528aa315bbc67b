import { createRequire } from 'node:module';
import { MessagingContextError, MessagingError } from '../kernel/messaging.errors.js';
import { TransactionScope } from './transaction-scope.js';

/** The part of `@nestjs-cls/transactional`'s `TransactionHost` this library reads. */
export interface TransactionHostLike {
  isTransactionActive(): boolean;
  readonly tx: unknown;
}

interface TransactionHostClass {
  getInstance(connectionName?: string): TransactionHostLike;
}

/**
 * The open transactions of one `@nestjs-cls/transactional` connection, each
 * with a stack of scopes (a savepoint may run on the same transaction object
 * as its parent). Which one is current is the `TransactionHost`'s answer, so
 * `Propagation.NotSupported` and `Never` blocks correctly see no transaction.
 */
export class ConnectionTransactions {
  private readonly stacks = new Map<unknown, TransactionScope[]>();

  constructor(
    private readonly connectionName: string | undefined,
    private readonly host: () => TransactionHostLike,
  ) {}

  /** The scope of the transaction active here, if any. @throws MessagingContextError for a transaction not started through the wrapped adapter */
  current(topic: string): TransactionScope | undefined {
    const host = this.host();
    if (!host.isTransactionActive()) return undefined;
    const scope = this.stacks.get(host.tx)?.at(-1);
    if (scope === undefined) {
      throw new MessagingContextError(
        `Cannot add a message on topic "${topic}": a transaction of ${this.describe()} is active, ` +
          'but it did not start through the adapter given to withTransactionalOutbox(), so its outbox row cannot join it.',
      );
    }
    return scope;
  }

  /** Opens a scope for `tx` (inside the transaction callback), nested in `parent` for a savepoint. */
  open(tx: unknown, parent: TransactionScope | undefined): TransactionScope {
    const scope = new TransactionScope(parent);
    const stack = this.stacks.get(tx);
    if (stack === undefined) this.stacks.set(tx, [scope]);
    else stack.push(scope);
    return scope;
  }

  /** Closes `scope` when its transaction callback has finished. */
  close(tx: unknown, scope: TransactionScope): void {
    const stack = this.stacks.get(tx);
    if (stack === undefined) return;
    const index = stack.lastIndexOf(scope);
    if (index >= 0) stack.splice(index, 1);
    if (stack.length === 0) this.stacks.delete(tx);
  }

  private describe(): string {
    return this.connectionName === undefined ? 'the default connection' : `connection "${this.connectionName}"`;
  }
}

/** Finds the `TransactionHost` of `connectionName` the way `@Transactional()` does, at each call (apps may be rebuilt in tests). */
export function transactionHostOf(connectionName: string | undefined): () => TransactionHostLike {
  let hostClass: TransactionHostClass | undefined;
  return () => {
    hostClass ??= loadTransactionHostClass();
    return hostClass.getInstance(connectionName);
  };
}

function loadTransactionHostClass(): TransactionHostClass {
  try {
    const module = createRequire(import.meta.url)('@nestjs-cls/transactional') as {
      TransactionHost: TransactionHostClass;
    };
    return module.TransactionHost;
  } catch (error) {
    throw new MessagingError(
      `withTransactionalOutbox() needs the "@nestjs-cls/transactional" package: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
