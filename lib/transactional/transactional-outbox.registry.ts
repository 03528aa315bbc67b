import { Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { TransactionScope } from './transaction-scope.js';
import { ConnectionTransactions } from './connection-transactions.js';

/**
 * The key under which an adapter wrapped by `withTransactionalOutbox()` keeps
 * its `ConnectionTransactions` on the adapter options it builds. Those options are
 * a provider of the application (`ClsPluginTransactional` builds them in its
 * DI), so each application finds its own: nothing is kept per process.
 */
export const OUTBOX_TRANSACTION_SCOPES = Symbol('nestjs-messaging:transaction-scopes');

/**
 * The wrapped transactional adapters of one application, found through its
 * DI container the first time they are asked for (every provider exists by
 * then: the first question comes from a lifecycle hook or a request). A second
 * Nest application in the same process has its own registry and sees only its
 * own adapters.
 */
@Injectable()
export class TransactionalOutboxRegistry {
  private scopes: readonly ConnectionTransactions[] | undefined;

  constructor(private readonly discovery: DiscoveryService) {}

  /** Whether this application wrapped any adapter with `withTransactionalOutbox()`. */
  inUse(): boolean {
    return this.all().length > 0;
  }

  /**
   * The transaction scope `MessageQueue.add()` should write to, if a wrapped transaction is active.
   * @throws MessagingContextError for a transaction of a wrapped connection that did not start through the wrapper
   */
  current(topic: string): TransactionScope | undefined {
    for (const scopes of this.all()) {
      const scope = scopes.current(topic);
      if (scope !== undefined) return scope;
    }
    return undefined;
  }

  private all(): readonly ConnectionTransactions[] {
    this.scopes ??= this.discovery
      .getProviders()
      .map(({ instance }: { instance: unknown }) => scopesOf(instance))
      .filter((scopes): scopes is ConnectionTransactions => scopes !== undefined);
    return this.scopes;
  }
}

function scopesOf(instance: unknown): ConnectionTransactions | undefined {
  if (instance === null || typeof instance !== 'object') return undefined;
  try {
    const scopes = (instance as { [OUTBOX_TRANSACTION_SCOPES]?: unknown })[OUTBOX_TRANSACTION_SCOPES];
    return scopes instanceof ConnectionTransactions ? scopes : undefined;
  } catch {
    // A proxy provider (nestjs-cls's, say) may refuse any property read outside its context: not ours.
    return undefined;
  }
}
