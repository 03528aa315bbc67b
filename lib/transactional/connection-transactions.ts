import { AsyncLocalStorage } from 'node:async_hooks';
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
 * The transactions of one `@nestjs-cls/transactional` connection. Whether one
 * is active here is the `TransactionHost`'s answer, so
 * `Propagation.NotSupported` and `Never` blocks correctly see no transaction;
 * which scope is current follows the async context the transaction callback
 * (or savepoint callback) started, so work it started without awaiting still
 * finds its own scope, sealed or rolled back, rather than an enclosing one.
 */
export class ConnectionTransactions {
  private readonly scopes = new AsyncLocalStorage<TransactionScope>();

  constructor(
    private readonly connectionName: string | undefined,
    private readonly host: () => TransactionHostLike,
  ) {}

  /**
   * The scope of the transaction active here, if any.
   * @throws MessagingContextError for a transaction not started through the wrapped adapter
   * @throws MessagingContextClosedError in work a transaction callback started, once that callback settled
   */
  current(topic: string): TransactionScope | undefined {
    const scope = this.scopes.getStore();
    if (!this.host().isTransactionActive()) {
      // Work a transaction callback started, still running after the transaction ended, may not
      // slip into the request's messages instead: that is refused. (NotSupported inside an open one: no scope.)
      scope?.assertOpen(topic);
      return undefined;
    }
    if (scope === undefined) {
      throw new MessagingContextError(
        `Cannot add a message on topic "${topic}": a transaction of ${this.describe()} is active, ` +
          'but it did not start through the adapter given to withTransactionalOutbox(), so its outbox row cannot join it.',
      );
    }
    return scope;
  }

  /** The scope of the callback running here, whether or not the host sees a transaction (the parent of a savepoint). */
  enclosing(): TransactionScope | undefined {
    return this.scopes.getStore();
  }

  /** Runs a transaction (or savepoint) callback in a new scope, nested in `parent` for a savepoint. */
  run<T>(parent: TransactionScope | undefined, fn: (scope: TransactionScope) => Promise<T>): Promise<T> {
    const scope = new TransactionScope(parent);
    return this.scopes.run(scope, () => fn(scope));
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
