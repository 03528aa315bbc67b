import { Injectable, type ModuleMetadata } from '@nestjs/common';
import { Args, GraphQLModule, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { MessageQueue, MessagingModule, type MessagingModuleOptions } from 'nestjs-messaging';
import { MessagingGraphQLModule, type MessagingGraphQLOptions } from 'nestjs-messaging/graphql';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { Outbox } from '../../lib/delivery/outbox.service.js';
import type { Message } from '../../lib/kernel/message.interface.js';
import { startApp, type RunningApp } from './http-app.js';
import { sleep } from './wait-for.js';

export const TYPE_DEFS = `
  type Query { ping: String }
  type Item { name: String!, audit: String }
  type Mutation { createItem(name: String!, fail: Boolean): Item }
`;

/** A mutation that adds `.items.added`, then fails when asked; `Item.audit` adds `.items.audited` after it. */
@Resolver('Item')
@Injectable()
export class ItemsResolver {
  constructor(private readonly messages: MessageQueue) {}

  @Query('ping')
  ping(): string {
    return 'pong';
  }

  @Mutation('createItem')
  async createItem(@Args('name') name: string, @Args('fail') fail?: boolean): Promise<{ name: string }> {
    this.messages.add('.items.added', { name });
    await sleep(2); // the resolver is asynchronous, as a database write is
    if (fail === true) throw new Error(`cannot create ${name}`);
    return { name };
  }

  // Runs after createItem completed: a field resolver of the result.
  @ResolveField('audit')
  async audit(@Parent() item: { name: string }): Promise<string> {
    await sleep(1);
    this.messages.add('.items.audited', { name: item.name });
    if (item.name.startsWith('audit-fails')) throw new Error(`cannot audit ${item.name}`);
    return `audited ${item.name}`;
  }
}

export interface GraphQLAppOptions {
  readonly driver?: 'apollo' | 'mercurius';
  /** `MessagingGraphQLModule.forRoot()` options; `false` leaves the module out. */
  readonly graphql?: MessagingGraphQLOptions | false;
  readonly messaging?: MessagingModuleOptions;
  readonly extra?: Pick<ModuleMetadata, 'controllers' | 'providers'>;
}

export interface GraphQLApp {
  readonly running: RunningApp;
  readonly capture: CapturingMessenger;
  /** Every `Outbox.accept()` call with messages: one per flush. */
  readonly flushes: (readonly Message[])[];
  /** POSTs `query` to /graphql with a change comment. */
  post(query: string): Promise<{ status: number; body: GraphQLBody }>;
}

export interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[] }[];
}

/** A real GraphQL server (Apollo on Express, or Mercurius on Fastify) listening on an ephemeral port. */
export async function startGraphQLApp(options: GraphQLAppOptions = {}): Promise<GraphQLApp> {
  const capture = new CapturingMessenger();
  const driver = options.driver ?? 'apollo';
  const graphqlModule =
    driver === 'apollo'
      ? GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          typeDefs: TYPE_DEFS,
          fieldResolverEnhancers: ['interceptors'],
          context: ({ req }: { req: unknown }) => ({ req }),
        })
      : GraphQLModule.forRoot<MercuriusDriverConfig>({
          driver: MercuriusDriver,
          typeDefs: TYPE_DEFS,
          fieldResolverEnhancers: ['interceptors'],
        });
  const running = await startApp(driver === 'apollo' ? 'express' : 'fastify', {
    imports: [
      MessagingModule.forRoot({ ...options.messaging, messenger: capture }),
      graphqlModule,
      ...(options.graphql === false ? [] : [MessagingGraphQLModule.forRoot(options.graphql)]),
    ],
    providers: [ItemsResolver, ...(options.extra?.providers ?? [])],
    controllers: options.extra?.controllers ?? [],
  });
  const flushes: (readonly Message[])[] = [];
  const outbox = running.app.get(Outbox);
  const accept = outbox.accept.bind(outbox);
  outbox.accept = (messages) => {
    if (messages.length > 0) flushes.push(messages);
    return accept(messages);
  };
  const post = async (query: string): Promise<{ status: number; body: GraphQLBody }> => {
    const response = await fetch(`${running.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'PDC-Change-Comment': 'from the client' },
      body: JSON.stringify({ query }),
    });
    return { status: response.status, body: (await response.json()) as GraphQLBody };
  };
  return { running, capture, flushes, post };
}
