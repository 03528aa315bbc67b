import { Module, type DynamicModule } from '@nestjs/common';
import { OPERATION_SCOPES } from '../request/operation-scope.interface.js';
import { GRAPHQL_MESSAGING_CONFIG, type MessagingGraphQLOptions } from './graphql-options.interface.js';
import { resolveGraphQLOptions } from './graphql-options.validation.js';
import { GraphQLOperations } from './graphql-operations.service.js';
import { ApolloOperationPlugin } from './apollo-operation.plugin.js';

/**
 * Makes a GraphQL operation (query or mutation, over Apollo or Mercurius) send its messages once,
 * when the whole operation ended, instead of once per resolver: every resolver's messages,
 * including field resolvers that run after their parent, go out in one outbox batch. What an
 * operation with errors sends is `onPartialFailure`. Subscription resolvers may not add messages
 * (`MessagingContextError`). Import it next to `MessagingModule` and `GraphQLModule`.
 *
 * The response waits for the outbox, as a REST response does: an Apollo Server plugin (found by
 * @nestjs/apollo's drivers; with an `include` list, list this module there) or Mercurius hooks
 * end the operation in a hook the server awaits. With `delivery: 'await'` the response waits for
 * the first delivery attempt. When a durable outbox cannot store the messages, the response is
 * HTTP 500 with an error in `errors` (`extensions.messagingError: 'OutboxWriteError'`), `data`
 * unchanged, and the error is logged.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     MessagingModule.forRoot(),
 *     GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true }),
 *     MessagingGraphQLModule.forRoot(),
 *   ],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
export class MessagingGraphQLModule {
  /**
   * @throws MessagingOptionsError naming an invalid option; at start-up, when `MessagingModule`
   *   is missing or there is no Apollo or Mercurius GraphQL server to attach to.
   */
  static forRoot(options: MessagingGraphQLOptions = {}): DynamicModule {
    return {
      module: MessagingGraphQLModule,
      global: true,
      providers: [
        { provide: GRAPHQL_MESSAGING_CONFIG, useValue: resolveGraphQLOptions(options) },
        GraphQLOperations,
        ApolloOperationPlugin,
        { provide: OPERATION_SCOPES, useExisting: GraphQLOperations },
      ],
      exports: [OPERATION_SCOPES],
    };
  }
}
