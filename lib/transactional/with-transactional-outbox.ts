import type { OutboxTransactionWriter } from './outbox-transaction-writer.js';
import type { TransactionScope } from './transaction-scope.js';
import { transactionHostOf, ConnectionTransactions, type TransactionHostLike } from './connection-transactions.js';
import { OUTBOX_TRANSACTION_SCOPES } from './transactional-outbox.registry.js';

/** The adapter options `@nestjs-cls/transactional` builds per connection (the part wrapped here). */
export interface TransactionalAdapterOptionsLike<TTx> {
  wrapWithTransaction(options: never, fn: () => Promise<unknown>, setTx: (tx?: TTx) => void): Promise<unknown>;
  wrapWithNestedTransaction?(
    options: never,
    fn: () => Promise<unknown>,
    setTx: (tx?: TTx) => void,
    tx: TTx,
  ): Promise<unknown>;
  getFallbackInstance(): TTx;
}

/** A `@nestjs-cls/transactional` adapter (`TransactionalAdapterTypeOrm`, `TransactionalAdapterKnex`, ...). */
export interface TransactionalAdapterLike {
  optionsFactory(...args: never[]): { getFallbackInstance(): unknown };
}

/** The transaction object (`TransactionHost.tx`) of an adapter. */
export type TransactionOf<TAdapter> = TAdapter extends {
  optionsFactory(...args: never[]): { getFallbackInstance(): infer TTx };
}
  ? TTx
  : never;

/** Options of `withTransactionalOutbox()`. */
export interface TransactionalOutboxOptions {
  /** The `connectionName` given to `ClsPluginTransactional`, if it has one. Default: none (the default connection). */
  connectionName?: string;
  /** Finds the `TransactionHost`. Default: `TransactionHost.getInstance(connectionName)` of `@nestjs-cls/transactional`. */
  transactionHost?: () => TransactionHostLike;
}

/**
 * Wraps a `@nestjs-cls/transactional` adapter so that `MessageQueue.add()`
 * inside a transaction writes the message to the outbox **in that
 * transaction**: the rows are inserted through the transaction's own
 * connection just before it commits. Commit makes the messages deliverable;
 * a rollback (a thrown error, an explicit rollback, a rolled-back savepoint)
 * removes them, whatever happens to the request afterwards. Needs a
 * `PostgresOutboxStore` (or another `TransactionalOutboxStore`) on the same database.
 *
 * @example
 * ```ts
 * ClsModule.forRoot({
 *   plugins: [
 *     new ClsPluginTransactional({
 *       imports: [TypeOrmModule],
 *       adapter: withTransactionalOutbox(
 *         new TransactionalAdapterTypeOrm({ dataSourceToken: DataSource }),
 *         typeormOutboxWriter,
 *       ),
 *     }),
 *   ],
 * });
 * ```
 */
export function withTransactionalOutbox<TAdapter extends TransactionalAdapterLike>(
  adapter: TAdapter,
  writer: OutboxTransactionWriter<TransactionOf<TAdapter>>,
  options: TransactionalOutboxOptions = {},
): TAdapter {
  type TTx = TransactionOf<TAdapter>;
  // The wrapper inherits everything else (connection token, lifecycle hooks, default options).
  const wrapped = Object.create(adapter) as TAdapter;
  const optionsFactory = (connection: unknown, extraProviders: unknown[]): TransactionalAdapterOptionsLike<TTx> => {
    // Built in the application's DI: each application that uses the adapter has its own scopes,
    // which its MessagingModule finds among its providers (TransactionalOutboxRegistry).
    const scopes = new ConnectionTransactions(
      options.connectionName,
      options.transactionHost ?? transactionHostOf(options.connectionName),
    );
    // The shape @nestjs-cls/transactional's adapters have; only the constraint above is checked at compile time.
    const inner = (adapter.optionsFactory as (...args: unknown[]) => TransactionalAdapterOptionsLike<TTx>)(
      connection,
      extraProviders,
    );
    const run = (
      tx: TTx | undefined,
      parent: TransactionScope | undefined,
      fn: () => Promise<unknown>,
    ): Promise<{ result: unknown; scope: TransactionScope }> =>
      // The callback, and any work it starts (awaited or not), sees this scope.
      scopes.run(parent, async (scope) => {
        let result: unknown;
        try {
          result = await fn();
        } catch (error) {
          scope.rolledBack();
          throw error;
        }
        // Last statement of the transaction (or savepoint): the messages commit with the work.
        // Sealed from here: a late add() throws instead of missing the insert.
        await scope.write((statement) => writer(tx as TTx, statement));
        return { result, scope };
      });
    /** The adapter's callback and `setTx`, wrapped: the callback runs in a scope that writes its messages last. */
    const inScope = (
      parent: TransactionScope | undefined,
      fn: () => Promise<unknown>,
      setTx: (tx?: TTx) => void,
    ): { callback: () => Promise<unknown>; setTx: (tx?: TTx) => void; scope: () => TransactionScope | undefined } => {
      let tx: TTx | undefined;
      let scope: TransactionScope | undefined;
      return {
        callback: async () => {
          const outcome = await run(tx, parent, fn);
          scope = outcome.scope;
          return outcome.result;
        },
        setTx: (client) => {
          tx = client;
          setTx(client);
        },
        scope: () => scope,
      };
    };
    const wrappedOptions: TransactionalAdapterOptionsLike<TTx> = {
      ...inner,
      wrapWithTransaction: async (txOptions, fn, setTx) => {
        const wrappedFn = inScope(undefined, fn, setTx);
        const result = await inner.wrapWithTransaction(txOptions, wrappedFn.callback, wrappedFn.setTx);
        wrappedFn.scope()?.committed();
        return result;
      },
      getFallbackInstance: () => inner.getFallbackInstance(),
    };
    const nested = inner.wrapWithNestedTransaction?.bind(inner);
    if (nested !== undefined) {
      wrappedOptions.wrapWithNestedTransaction = async (txOptions, fn, setTx, outerTx) => {
        const wrappedFn = inScope(scopes.enclosing(), fn, setTx);
        const result = await nested(txOptions, wrappedFn.callback, wrappedFn.setTx, outerTx);
        // Released: its messages now belong to the enclosing transaction's commit.
        wrappedFn.scope()?.released();
        return result;
      };
    }
    // Enumerable: ClsPluginTransactional spreads these options into its own provider value.
    Object.defineProperty(wrappedOptions, OUTBOX_TRANSACTION_SCOPES, { value: scopes, enumerable: true });
    return wrappedOptions;
  };
  Object.defineProperty(wrapped, 'optionsFactory', { value: optionsFactory, enumerable: true });
  return wrapped;
}
