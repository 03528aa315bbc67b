import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Body, Controller, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MessageQueue, MessagingModule, MessagingOptionsError, type Message } from 'nestjs-messaging';
import { MessagingGraphQLModule } from 'nestjs-messaging/graphql';
import { SqliteOutboxStore } from 'nestjs-messaging/sqlite';
import { startGraphQLApp, type GraphQLApp } from './support/graphql-app.js';
import { sleep, waitFor } from './support/wait-for.js';

const THREE =
  'mutation { a: createItem(name: "a") { name } b: createItem(name: "b") { name } c: createItem(name: "c") { name } }';
const PARTLY_FAILED =
  'mutation { ok: createItem(name: "ok") { name } bad: createItem(name: "bad", fail: true) { name } ok2: createItem(name: "ok2") { name } }';

const names = (app: GraphQLApp): unknown[] => app.capture.messages.map((message) => message.body.name);

describe.each(['apollo', 'mercurius'] as const)('GraphQL operations over HTTP (%s)', (driver) => {
  let app: GraphQLApp | undefined;
  afterEach(async () => {
    await app?.running.close();
    app = undefined;
  });

  it('flushes the messages of an operation with three mutations once, enriched from the HTTP request', async () => {
    app = await startGraphQLApp({ driver });
    const response = await app.post(THREE);
    expect(response.body.errors).toBeUndefined();
    await waitFor(() => app!.capture.messages.length === 3, 3000, 'three messages');
    expect(app.flushes).toHaveLength(1);
    expect(app.flushes[0].map((message) => message.body.name)).toEqual(['a', 'b', 'c']);
    expect(app.capture.messages.map((message) => message.body)).toEqual(
      ['a', 'b', 'c'].map((name) => ({ name, author: '', comment: 'from the client' })),
    );
  });

  it('puts the messages of field resolvers that run after their mutation completed into the same flush', async () => {
    app = await startGraphQLApp({ driver });
    const response = await app.post(
      'mutation { x: createItem(name: "x") { audit } y: createItem(name: "y") { audit } }',
    );
    expect(response.body).toEqual({ data: { x: { audit: 'audited x' }, y: { audit: 'audited y' } } });
    await waitFor(() => app!.capture.messages.length === 4, 3000, 'four messages');
    expect(app.flushes).toHaveLength(1);
    expect(app.flushes[0].map(({ topic, body }) => `${topic} ${JSON.stringify(body.name)}`)).toEqual([
      '.items.added "x"',
      '.items.audited "x"',
      '.items.added "y"',
      '.items.audited "y"',
    ]);
  });

  it('sends, by default, the messages of the mutations that succeeded in an operation where one failed', async () => {
    app = await startGraphQLApp({ driver });
    const response = await app.post(PARTLY_FAILED);
    expect(response.status).toBe(200);
    expect(response.body.errors?.map((error) => error.path)).toEqual([['bad']]);
    await waitFor(() => app!.capture.messages.length === 2, 3000, 'two messages');
    expect(app.flushes).toHaveLength(1);
    expect(names(app)).toEqual(['ok', 'ok2']);
  });

  it('drops the messages of a field resolver that failed and keeps its successful mutation', async () => {
    app = await startGraphQLApp({ driver });
    const response = await app.post('mutation { createItem(name: "audit-fails") { name audit } }');
    expect(response.body.errors?.map((error) => error.path)).toEqual([['createItem', 'audit']]);
    await waitFor(() => app!.capture.messages.length === 1, 3000, 'one message');
    expect(app.capture.topics).toEqual(['.items.added']);
  });

  it("sends nothing from an operation with an error with onPartialFailure: 'send-nothing'", async () => {
    app = await startGraphQLApp({ driver, graphql: { onPartialFailure: 'send-nothing' } });
    const failed = await app.post(PARTLY_FAILED);
    expect(failed.body.errors).toHaveLength(1);
    const ok = await app.post('mutation { createItem(name: "after") { name } }');
    expect(ok.body.errors).toBeUndefined();
    // The next operation's message arrives, so the failed one's would have arrived before it.
    await waitFor(() => app!.capture.messages.length >= 1, 3000, 'the next operation');
    expect(names(app)).toEqual(['after']);
    expect(app.flushes).toHaveLength(1);
  });

  it('sends nothing from a failed operation', async () => {
    app = await startGraphQLApp({ driver });
    const failed = await app.post('mutation { createItem(name: "bad", fail: true) { name } }');
    expect(failed.body.errors?.[0].message).toBe('cannot create bad');
    const ok = await app.post('mutation { createItem(name: "after") { name } }');
    expect(ok.body.errors).toBeUndefined();
    await waitFor(() => app!.capture.messages.length >= 1, 3000, 'the next operation');
    expect(names(app)).toEqual(['after']);
  });
});

describe.each(['apollo', 'mercurius'] as const)('GraphQL responses wait for the outbox (%s)', (driver) => {
  let app: GraphQLApp | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await app?.running.close();
    app = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('answers HTTP 500 with an error in `errors` when a durable outbox cannot store the messages', async () => {
    dir = mkdtempSync(join(tmpdir(), 'graphql-outbox-'));
    const store = new SqliteOutboxStore({ path: join(dir, 'outbox.db') });
    const append = store.append.bind(store);
    let failing = true;
    store.append = (messages: readonly Message[]) =>
      failing ? Promise.reject(new Error('disk I/O error')) : append(messages);
    app = await startGraphQLApp({ driver, messaging: { outbox: store } });

    const failed = await app.post(THREE);
    expect(failed.status).toBe(500);
    // The mutations ran (their data stays), but the client is told their messages will not be sent.
    expect(failed.body.data).toEqual({ a: { name: 'a' }, b: { name: 'b' }, c: { name: 'c' } });
    expect(failed.body.errors).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('could not be stored in the outbox (OutboxWriteError)') as unknown,
        extensions: { code: 'INTERNAL_SERVER_ERROR', messagingError: 'OutboxWriteError' },
      }),
    ]);
    const logged = app.running.logs.linesAt('error').filter((line) => line.includes('GraphQL operation'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('OutboxWriteError');
    expect(logged[0]).toContain('disk I/O error');

    // The same operation, once the store writes again, succeeds and is sent.
    failing = false;
    const ok = await app.post(THREE);
    expect(ok.status).toBe(200);
    expect(ok.body.errors).toBeUndefined();
    await waitFor(() => app!.capture.messages.length === 3, 3000, 'three messages');
    expect(names(app)).toEqual(['a', 'b', 'c']);
  });

  it("with delivery: 'await', answers only after the messenger got the operation's batch", async () => {
    app = await startGraphQLApp({ driver, messaging: { delivery: 'await' } });
    const events: string[] = [];
    const capture = app.capture;
    const send = capture.send.bind(capture);
    capture.send = async (batch) => {
      await sleep(50); // a slow broker: the response must still wait for it
      await send(batch);
      events.push(`sent ${batch.map(({ body }) => body.name as string).join(',')}`);
    };
    const response = await app.post(THREE);
    events.push(`response ${response.status}`);
    expect(response.body.errors).toBeUndefined();
    expect(events).toEqual(['sent a,b,c', 'response 200']);
    expect(app.flushes).toHaveLength(1);
  });
});

@Controller()
class ItemsController {
  constructor(private readonly messages: MessageQueue) {}

  @Post('items')
  create(@Body() body: { name: string }): object {
    this.messages.add('.items.added', { name: body.name });
    return {};
  }
}

describe('GraphQL without MessagingGraphQLModule (Apollo, Express)', () => {
  let app: GraphQLApp | undefined;
  afterEach(async () => {
    await app?.running.close();
    app = undefined;
  });

  it('enriches a mutation like the same call over REST, and a failed mutation sends nothing', async () => {
    app = await startGraphQLApp({ graphql: false, extra: { controllers: [ItemsController] } });
    const rest = await app.running.request('POST', '/items', {
      body: { name: 'rest' },
      headers: { 'PDC-Change-Comment': 'from the client' },
    });
    expect(rest.status).toBe(201);
    await app.post('mutation { createItem(name: "gql") { name } }');
    await app.post(PARTLY_FAILED);
    await waitFor(() => app!.capture.messages.length === 4, 3000, 'four messages');
    const bodies = Object.fromEntries(app.capture.messages.map(({ body }) => [body.name as string, body]));
    expect(bodies.gql).toEqual({ name: 'gql', author: '', comment: 'from the client' });
    expect(bodies.gql).toEqual({ ...bodies.rest, name: 'gql' });
    expect(Object.keys(bodies).sort()).toEqual(['gql', 'ok', 'ok2', 'rest']);
  });
});

describe('MessagingGraphQLModule options', () => {
  it('fails at start-up when there is no GraphQL server to attach to', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MessagingModule.forRoot(), MessagingGraphQLModule.forRoot()],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      const starting = app.init();
      await expect(starting).rejects.toThrow(MessagingOptionsError);
      await expect(starting).rejects.toThrow(
        /found no GraphQL server to attach to: import GraphQLModule\.forRoot\(\) from @nestjs\/graphql/,
      );
    } finally {
      await app.close();
    }
  });

  it('fails at start-up naming an invalid onPartialFailure', () => {
    expect(() => MessagingGraphQLModule.forRoot({ onPartialFailure: 'send-all' as never })).toThrow(
      MessagingOptionsError,
    );
    expect(() => MessagingGraphQLModule.forRoot({ onPartialFailure: 'send-all' as never })).toThrow(
      /onPartialFailure: expected 'send-succeeded' or 'send-nothing', got "send-all"/,
    );
  });
});
