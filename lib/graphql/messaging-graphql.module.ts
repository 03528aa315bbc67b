import { Module, type DynamicModule } from '@nestjs/common';
import { OPERATION_SCOPES } from '../request/operation-scope.interface.js';
import { GRAPHQL_MESSAGING_CONFIG, type MessagingGraphQLOptions } from './graphql-options.interface.js';
import { resolveGraphQLOptions } from './graphql-options.validation.js';
import { GraphQLOperations } from './graphql-operations.service.js';

/**
 * Makes a GraphQL operation (query or mutation, over Apollo or Mercurius) send its messages once,
 * when the whole operation ended, instead of once per resolver: every resolver's messages,
 * including field resolvers that run after their parent, go out in one outbox batch. What an
 * operation with errors sends is `onPartialFailure`. Subscription resolvers may not add messages
 * (`MessagingContextError`). Import it next to `MessagingModule` and `GraphQLModule`.
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
   * @throws MessagingOptionsError naming an invalid option.
   */
  static forRoot(options: MessagingGraphQLOptions = {}): DynamicModule {
    return {
      module: MessagingGraphQLModule,
      global: true,
      providers: [
        { provide: GRAPHQL_MESSAGING_CONFIG, useValue: resolveGraphQLOptions(options) },
        GraphQLOperations,
        { provide: OPERATION_SCOPES, useExisting: GraphQLOperations },
      ],
      exports: [OPERATION_SCOPES],
    };
  }
}
