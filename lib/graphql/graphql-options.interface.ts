/**
 * What a GraphQL operation that ended with `errors` (GraphQL answers 200 with `data` and `errors`)
 * sends:
 * - `'send-succeeded'`: the messages of every resolver that succeeded; a resolver that threw
 *   (and guards or pipes that rejected it) sends nothing. Each mutation field is its own unit
 *   of work (GraphQL does not roll back the mutations before a failed one), so the changes
 *   the successful mutations made are announced.
 * - `'send-nothing'`: nothing at all, as soon as the response has one error. For applications
 *   that treat the whole operation as one unit (one database transaction around it).
 */
export type GraphQLPartialFailure = 'send-succeeded' | 'send-nothing';

/** Options of `MessagingGraphQLModule.forRoot()`. */
export interface MessagingGraphQLOptions {
  /** What an operation with errors sends; see `GraphQLPartialFailure`. Default: `'send-succeeded'`. */
  onPartialFailure?: GraphQLPartialFailure;
}

/** The options once validated, defaults applied (internal). */
export interface GraphQLMessagingConfig {
  readonly onPartialFailure: GraphQLPartialFailure;
}

/** Injection token of the `GraphQLMessagingConfig` (internal). */
export const GRAPHQL_MESSAGING_CONFIG = Symbol('nestjs-messaging:graphql-config');
