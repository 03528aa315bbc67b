import type { ExecutionContext } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { createMessage } from '../kernel/message.factory.js';
import { MessageLimitError, MessagingContextError } from '../kernel/messaging.errors.js';
import { GraphQLOperation } from './graphql-operation.js';
import { GraphQLOperations } from './graphql-operations.service.js';
import { unsentMessagesError } from './graphql-unsent.error.js';
import { OutboxWriteError } from '../kernel/outbox.errors.js';

const message = (name: string) => createMessage('.items.added', { name });

function resolverContext(graphqlContext: object, operation: string): ExecutionContext {
  const args = [undefined, {}, graphqlContext, { operation: { operation } }];
  return { getType: () => 'graphql', getArgByIndex: (index: number) => args[index] } as unknown as ExecutionContext;
}

describe('GraphQLOperation', () => {
  it('holds the messages of its resolvers until it ends, then gives all or none', () => {
    const sent = new GraphQLOperation(10);
    sent.collect([message('a')]);
    sent.collect([message('b'), message('c')]);
    expect(sent.end(true).map(({ body }) => body.name)).toEqual(['a', 'b', 'c']);
    const dropped = new GraphQLOperation(10);
    dropped.collect([message('a')]);
    expect(dropped.end(false)).toEqual([]);
  });

  it('bounds the whole operation by maxMessagesPerRequest', () => {
    const operation = new GraphQLOperation(2);
    operation.collect([message('a')]);
    expect(() => {
      operation.collect([message('b'), message('c')]);
    }).toThrow(MessageLimitError);
    expect(() => {
      operation.collect([message('b'), message('c')]);
    }).toThrow(/this GraphQL operation already holds 2/);
  });

  it('refuses messages of a resolver that outlived its operation', () => {
    const operation = new GraphQLOperation(10);
    operation.end(true);
    expect(() => {
      operation.collect([message('late')]);
    }).toThrow(/GraphQL operation already ended/);
  });
});

describe('GraphQLOperations.operationOf', () => {
  const operations = new GraphQLOperations({} as ModuleRef, { onPartialFailure: 'send-succeeded' });

  it('finds the open operation by the GraphQL context object, and none once it ended', () => {
    const graphqlContext = {};
    operations.start(graphqlContext);
    const scope = operations.operationOf(resolverContext(graphqlContext, 'mutation'));
    expect(scope).toBeInstanceOf(GraphQLOperation);
    expect(operations.operationOf(resolverContext({}, 'mutation'))).toBeUndefined();
    void operations.end(graphqlContext, 1);
    expect(operations.operationOf(resolverContext(graphqlContext, 'mutation'))).toBeUndefined();
  });

  it('refuses messages from subscription resolvers, naming the context and what to do', () => {
    const scope = operations.operationOf(resolverContext({}, 'subscription'));
    expect(() => scope?.collect([])).not.toThrow();
    expect(() => scope?.collect([message('a')])).toThrow(MessagingContextError);
    expect(() => scope?.collect([message('a')])).toThrow(
      /context type "graphql", operation "subscription".*once per subscriber.*where the event happens/,
    );
  });

  it('leaves other context types to the interceptor', () => {
    const http = { getType: () => 'http' } as unknown as ExecutionContext;
    expect(operations.operationOf(http)).toBeUndefined();
  });
});

describe('unsentMessagesError', () => {
  it('names the error kind for the client and keeps the details (store error, ids) out of the response', () => {
    const entry = unsentMessagesError(new OutboxWriteError([message('a')], 'disk I/O error'));
    expect(entry.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', messagingError: 'OutboxWriteError' });
    expect(entry.message).toMatch(/could not be stored in the outbox \(OutboxWriteError\) and will not be sent/);
    expect(entry.message).not.toContain('disk I/O error');
  });
});
