import type { GraphQLOperations } from './graphql-operations.service.js';
import { UNSENT_MESSAGES_STATUS, unsentMessagesError } from './graphql-unsent.error.js';

/** What is used of Mercurius's `app.graphql` (kept local: no mercurius import). */
export interface MercuriusLike {
  addHook(name: 'preExecution', hook: (schema: unknown, document: unknown, context: unknown) => Promise<void>): void;
  addHook(name: 'onResolution', hook: (execution: ExecutionResultLike, context: unknown) => Promise<void>): void;
}

interface ExecutionResultLike {
  errors?: readonly unknown[];
}

interface MercuriusContextLike {
  readonly reply?: { code(status: number): unknown };
}

/** The Mercurius server registered on a Fastify instance (`fastify.graphql`), if any. */
export function mercuriusOf(fastify: unknown): MercuriusLike | undefined {
  const graphql = (fastify as { graphql?: Partial<MercuriusLike> } | undefined)?.graphql;
  return typeof graphql?.addHook === 'function' ? (graphql as MercuriusLike) : undefined;
}

/**
 * Opens an operation in `preExecution` (after parsing and validation) and ends it in
 * `onResolution`; Mercurius awaits both, so the response is sent only once the outbox has the
 * operation's messages. When the outbox cannot take them, the execution result gets an error in
 * `errors` and the reply status 500.
 */
export function addMercuriusOperationHooks(mercurius: MercuriusLike, operations: GraphQLOperations): void {
  mercurius.addHook('preExecution', (_schema, _document, context) => {
    operations.start(context);
    return Promise.resolve();
  });
  mercurius.addHook('onResolution', async (execution, context) => {
    try {
      await operations.end(context, execution.errors?.length ?? 0);
    } catch (error) {
      execution.errors = [...(execution.errors ?? []), unsentMessagesError(error)];
      (context as MercuriusContextLike | undefined)?.reply?.code(UNSENT_MESSAGES_STATUS);
    }
  });
}
