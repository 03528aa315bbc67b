import { Inject, Injectable, Logger, type ExecutionContext, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ResolverDecoratorHost, type GqlRequestEndHookContext, type GqlRequestStartHookContext } from '@nestjs/graphql';
import { Outbox } from '../delivery/outbox.service.js';
import { MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import { MessagingOptionsError } from '../kernel/messaging.errors.js';
import type { RequestBatchConfig } from '../request/message-batch.js';
import type { OperationScope, OperationScopes } from '../request/operation-scope.interface.js';
import { GRAPHQL_MESSAGING_CONFIG, type GraphQLMessagingConfig } from './graphql-options.interface.js';
import { GraphQLOperation, SUBSCRIPTION_SCOPE } from './graphql-operation.js';

/** What is read of graphql-js's `GraphQLResolveInfo`, the resolver's fourth argument. */
interface ResolveInfoLike {
  readonly operation?: { readonly operation?: string };
}

/**
 * Opens a `GraphQLOperation` when @nestjs/graphql starts an operation (its request hooks, which the
 * Apollo and Mercurius drivers call) and sends its messages once when the operation ends, after
 * every resolver, field resolvers included, finished. An operation is found by its GraphQL context
 * object, which the driver creates per request.
 */
@Injectable()
export class GraphQLOperations implements OperationScopes, OnApplicationBootstrap {
  private readonly logger = new Logger('MessagingGraphQL');
  private readonly open = new WeakMap<object, GraphQLOperation>();
  private outbox!: Outbox;
  private limit = 0;

  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(GRAPHQL_MESSAGING_CONFIG) private readonly config: GraphQLMessagingConfig,
  ) {}

  /**
   * Chains its hooks after any the application registered before.
   * @throws MessagingOptionsError when GraphQLModule or MessagingModule is not imported.
   */
  onApplicationBootstrap(): void {
    const host = this.find(ResolverDecoratorHost, 'GraphQLModule.forRoot() from @nestjs/graphql');
    this.outbox = this.find(Outbox, 'MessagingModule.forRoot()');
    this.limit = this.find<RequestBatchConfig>(MESSAGING_OPTIONS, 'MessagingModule.forRoot()').maxMessagesPerRequest;
    const previousStart = host.getOnRequestStartHook() as
      ((context: GqlRequestStartHookContext) => unknown) | undefined;
    const previousEnd = host.getOnRequestEndHook() as ((context: GqlRequestEndHookContext) => void) | undefined;
    host.setOnRequestStartHook((hook) => {
      this.start(hook.context);
      return previousStart?.(hook);
    });
    host.setOnRequestEndHook((hook) => {
      try {
        previousEnd?.(hook);
      } finally {
        this.end(hook.context, hook.errors?.length ?? 0);
      }
    });
  }

  operationOf(context: ExecutionContext): OperationScope | undefined {
    if (context.getType<string>() !== 'graphql') return undefined;
    const info = context.getArgByIndex<ResolveInfoLike | undefined>(3);
    if (info?.operation?.operation === 'subscription') return SUBSCRIPTION_SCOPE;
    const graphqlContext = context.getArgByIndex<unknown>(2);
    return typeof graphqlContext === 'object' && graphqlContext !== null ? this.open.get(graphqlContext) : undefined;
  }

  /** An operation starts: its resolvers' messages wait for its end. */
  start(graphqlContext: object | undefined): void {
    if (graphqlContext !== undefined) this.open.set(graphqlContext, new GraphQLOperation(this.limit));
  }

  /** The operation ended with `errorCount` errors: send its messages (see `onPartialFailure`) or drop them. */
  end(graphqlContext: object | undefined, errorCount: number): void {
    if (graphqlContext === undefined) return;
    const operation = this.open.get(graphqlContext);
    if (operation === undefined) return;
    this.open.delete(graphqlContext);
    const messages = operation.end(errorCount === 0 || this.config.onPartialFailure === 'send-succeeded');
    if (messages.length === 0) return;
    // The driver does not wait for this hook: a durable outbox that fails cannot change the response any more.
    this.outbox.accept(messages)?.catch((error: unknown) => {
      this.logger.error(
        `The ${messages.length} message(s) of a GraphQL operation could not be stored in the outbox and are lost ` +
          `(ids ${messages.map(({ id }) => id).join(', ')}): ${String(error)}`,
      );
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
