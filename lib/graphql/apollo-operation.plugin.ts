import { Injectable, SetMetadata } from '@nestjs/common';
import { GraphQLOperations } from './graphql-operations.service.js';
import { UNSENT_MESSAGES_STATUS, unsentMessagesError, type GraphQLErrorEntry } from './graphql-unsent.error.js';

/** The metadata key of @nestjs/apollo's `@Plugin()`: its drivers give such providers to Apollo Server. */
const APOLLO_PLUGIN_METADATA = 'graphql:plugin';

/** What is read and written of Apollo Server's `GraphQLRequestContext` (kept local: no @apollo/server import). */
interface ApolloRequestContextLike {
  readonly contextValue: unknown;
  readonly errors?: readonly unknown[];
  readonly response: {
    readonly http: { status?: number };
    readonly body?:
      | { readonly kind: 'single'; readonly singleResult: ResultLike }
      | { readonly kind: 'incremental'; readonly initialResult: ResultLike };
  };
}

interface ResultLike {
  errors?: readonly unknown[];
}

/**
 * An Apollo Server plugin (found by @nestjs/apollo's drivers like a `@Plugin()` class): opens a
 * GraphQL operation when a request starts and ends it in `willSendResponse`, which Apollo Server
 * awaits, so the response is sent only once the outbox has the operation's messages. When the
 * outbox cannot take them, the response gets an error in `errors` and HTTP status 500.
 */
@Injectable()
@SetMetadata(APOLLO_PLUGIN_METADATA, true)
export class ApolloOperationPlugin {
  constructor(private readonly operations: GraphQLOperations) {}

  /** Apollo Server starts with this plugin: operations go through it, not through Mercurius hooks. */
  serverWillStart(): Promise<void> {
    this.operations.attachedToApollo();
    return Promise.resolve();
  }

  requestDidStart(requestContext: ApolloRequestContextLike): Promise<{
    willSendResponse(context: ApolloRequestContextLike): Promise<void>;
  }> {
    const operations = this.operations;
    operations.start(requestContext.contextValue);
    return Promise.resolve({
      async willSendResponse(context: ApolloRequestContextLike): Promise<void> {
        const result = resultOf(context);
        const errorCount = (context.errors ?? result?.errors)?.length ?? 0;
        try {
          await operations.end(context.contextValue, errorCount);
        } catch (error) {
          // Runs after @nestjs/apollo's plugin that resets the status of executed operations to 200.
          context.response.http.status = UNSENT_MESSAGES_STATUS;
          if (result !== undefined) result.errors = withError(result.errors, unsentMessagesError(error));
        }
      },
    });
  }
}

function resultOf({ response: { body } }: ApolloRequestContextLike): ResultLike | undefined {
  if (body === undefined) return undefined;
  return body.kind === 'single' ? body.singleResult : body.initialResult;
}

function withError(errors: readonly unknown[] | undefined, error: GraphQLErrorEntry): readonly unknown[] {
  return [...(errors ?? []), error];
}
