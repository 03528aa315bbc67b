import { Inject, Injectable, Logger, type ExecutionContext, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { Outbox } from '../delivery/outbox.service.js';
import { MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import { MessagingOptionsError } from '../kernel/messaging.errors.js';
import type { RequestBatchConfig } from '../request/message-batch.js';
import type { OperationScope, OperationScopes } from '../request/operation-scope.interface.js';
import { GRAPHQL_MESSAGING_CONFIG, type GraphQLMessagingConfig } from './graphql-options.interface.js';
import { GraphQLOperation, SUBSCRIPTION_SCOPE } from './graphql-operation.js';
import { addMercuriusOperationHooks, mercuriusOf } from './mercurius-operation.hooks.js';

/** What is read of graphql-js's `GraphQLResolveInfo`, the resolver's fourth argument. */
interface ResolveInfoLike {
  readonly operation?: { readonly operation?: string };
}

/**
 * The open GraphQL operations, found by their GraphQL context object (the driver creates one per
 * operation). The driver's own awaited hooks open and end them: the Apollo plugin
 * (`requestDidStart` / `willSendResponse`) or Mercurius hooks (`preExecution` / `onResolution`),
 * so the response waits until the outbox has the operation's messages (or, with
 * `delivery: 'await'`, their first delivery attempt), after every resolver, field resolvers included.
 */
@Injectable()
export class GraphQLOperations implements OperationScopes, OnApplicationBootstrap {
  private readonly logger = new Logger('MessagingGraphQL');
  private readonly open = new WeakMap<object, GraphQLOperation>();
  private outbox!: Outbox;
  private limit = 0;
  private apolloAttached = false;

  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(GRAPHQL_MESSAGING_CONFIG) private readonly config: GraphQLMessagingConfig,
  ) {}

  /**
   * Adds the Mercurius hooks, unless the Apollo plugin was started.
   * @throws MessagingOptionsError when MessagingModule is not imported, or when neither the Apollo
   *   plugin was started nor a Mercurius server found (GraphQLModule missing, another driver, or
   *   an Apollo `include` list without MessagingGraphQLModule).
   */
  onApplicationBootstrap(): void {
    this.outbox = this.find(Outbox, 'MessagingModule.forRoot()');
    this.limit = this.find<RequestBatchConfig>(MESSAGING_OPTIONS, 'MessagingModule.forRoot()').maxMessagesPerRequest;
    if (this.apolloAttached) return;
    const adapterHost = this.moduleRef.get(HttpAdapterHost, { strict: false });
    // No HTTP adapter in an application context without a server (createApplicationContext).
    const httpAdapter = adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    const mercurius = mercuriusOf(httpAdapter?.getInstance());
    if (mercurius !== undefined) {
      addMercuriusOperationHooks(mercurius, this);
      return;
    }
    throw new MessagingOptionsError(
      [
        'imports: MessagingGraphQLModule found no GraphQL server to attach to: import GraphQLModule.forRoot() from ' +
          '@nestjs/graphql with the ApolloDriver (@nestjs/apollo) or the MercuriusDriver (@nestjs/mercurius); with ' +
          'Apollo and an `include` list, add MessagingGraphQLModule to it (its Apollo plugin is found there)',
      ],
      'MessagingGraphQLModule setup',
    );
  }

  /** The Apollo plugin was given to Apollo Server: operations are opened and ended through it. */
  attachedToApollo(): void {
    this.apolloAttached = true;
  }

  operationOf(context: ExecutionContext): OperationScope | undefined {
    if (context.getType<string>() !== 'graphql') return undefined;
    const info = context.getArgByIndex<ResolveInfoLike | undefined>(3);
    if (info?.operation?.operation === 'subscription') return SUBSCRIPTION_SCOPE;
    const graphqlContext = context.getArgByIndex<unknown>(2);
    return typeof graphqlContext === 'object' && graphqlContext !== null ? this.open.get(graphqlContext) : undefined;
  }

  /** An operation starts: its resolvers' messages wait for its end. */
  start(graphqlContext: unknown): void {
    if (typeof graphqlContext === 'object' && graphqlContext !== null) {
      this.open.set(graphqlContext, new GraphQLOperation(this.limit, this.outbox));
    }
  }

  /**
   * The operation ended with `errorCount` errors: hands its messages (see `onPartialFailure`) to the
   * outbox, or drops them. The driver's hook awaits the result before the response is sent.
   * @returns a promise when there is something to wait for (a durable store, `delivery: 'await'`),
   *   otherwise `undefined`.
   * @throws (the promise rejects with, after logging it) OutboxWriteError when a durable outbox
   *   could not store them; OutboxClosedError after the shutdown drain, for a non-durable store.
   */
  end(graphqlContext: unknown, errorCount: number): Promise<void> | undefined {
    if (typeof graphqlContext !== 'object' || graphqlContext === null) return undefined;
    const operation = this.open.get(graphqlContext);
    if (operation === undefined) return undefined;
    this.open.delete(graphqlContext);
    const messages = operation.end(errorCount === 0 || this.config.onPartialFailure === 'send-succeeded');
    if (messages.length === 0) return undefined;
    return this.outbox.accept(messages)?.catch((error: unknown) => {
      this.logger.error(
        `The ${messages.length} message(s) of a GraphQL operation could not be stored; its response reports ` +
          `an error (HTTP 500): ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        error instanceof Error ? error.stack : undefined,
      );
      throw error;
    });
  }

  private find<T>(token: symbol | (abstract new (...args: never[]) => T), what: string): T {
    try {
      return this.moduleRef.get<T>(token, { strict: false });
    } catch {
      throw new MessagingOptionsError(
        [`imports: MessagingGraphQLModule needs ${what} in the application; import it`],
        'MessagingGraphQLModule setup',
      );
    }
  }
}
