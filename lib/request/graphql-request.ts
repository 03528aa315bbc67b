import type { ExecutionContext } from '@nestjs/common';

interface GraphQLContextLike {
  /** Apollo (Express or Fastify) with Nest's default context, or `context: ({ req }) => ({ req })`. */
  readonly req?: unknown;
  /** Mercurius: its context holds the Fastify reply, whose `request` is the HTTP request. */
  readonly reply?: { readonly request?: unknown };
  /** A context factory that names it `request`. */
  readonly request?: unknown;
}

/**
 * The HTTP request behind a GraphQL resolver's context, read from the GraphQL context object
 * (`context.req`, Mercurius's `context.reply.request`, or `context.request`); `undefined` when the
 * context holds none (subscriptions over WebSocket, a context factory that drops the request).
 * Needs no GraphQL package: the resolver's arguments are `[root, args, context, info]`.
 */
export function graphqlRequestOf(context: ExecutionContext): unknown {
  const graphqlContext = context.getArgByIndex<unknown>(2) as GraphQLContextLike | null | undefined;
  if (graphqlContext === null || typeof graphqlContext !== 'object') return undefined;
  return graphqlContext.req ?? graphqlContext.reply?.request ?? graphqlContext.request;
}
