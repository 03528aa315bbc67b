// nestjs-messaging/graphql: one flush per GraphQL operation (@nestjs/graphql with Apollo or Mercurius).
export { MessagingGraphQLModule } from './messaging-graphql.module.js';
export type { GraphQLPartialFailure, MessagingGraphQLOptions } from './graphql-options.interface.js';
