import { Messenger, MessagingModule, type MessagingModuleOptions } from 'nestjs-messaging';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { ClsModule } from 'nestjs-cls';
import { HTTP_PLATFORMS } from '../sample-app/http-platform.js';
import { AuditService, CycleController } from './support/cycle.controller.js';
import { startApp, type RunningApp } from './support/http-app.js';
import { waitFor } from './support/wait-for.js';

async function startCycleApp(
  platform: (typeof HTTP_PLATFORMS)[number],
  options: MessagingModuleOptions = {},
  extraImports: NonNullable<Parameters<typeof startApp>[1]['imports']> = [],
): Promise<{ running: RunningApp; capture: CapturingMessenger }> {
  const capture = new CapturingMessenger();
  const running = await startApp(platform, {
    imports: [...extraImports, MessagingModule.forRoot({ delivery: 'await', ...options, messenger: capture })],
    controllers: [CycleController],
    providers: [AuditService],
  });
  return { running, capture };
}

describe.each(HTTP_PLATFORMS)('request cycle on %s', (platform) => {
  let running: RunningApp;
  let capture: CapturingMessenger;

  beforeEach(async () => {
    ({ running, capture } = await startCycleApp(platform));
  });
  afterEach(() => running.close());

  it('sends the messages of a successful request in one batch, in order, after enrichment', async () => {
    const response = await running.request('POST', '/ok', {
      body: { value: 'a' },
      headers: { authorization: 'ignored', 'PDC-Change-Comment': 'because' },
    });
    expect(response.status).toBe(201);
    expect(capture.batches).toHaveLength(1);
    expect(capture.topics).toEqual(['.items.added', '.audit.added']);
    expect(capture.messages[0].body).toEqual({ value: 'a', author: '', comment: 'because' });
    expect(capture.messages[0].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(capture.messages[0].id).not.toBe(capture.messages[1].id);
    expect(Object.isFrozen(capture.messages[0].body)).toBe(true);
  });

  it('sends nothing when the handler throws', async () => {
    const response = await running.request('POST', '/throws');
    expect(response.status).toBe(400);
    expect(capture.messages).toEqual([]);
  });

  it('sends nothing when @HttpCode sets a 4xx status', async () => {
    const response = await running.request('POST', '/http-code-4xx');
    expect(response.status).toBe(422);
    expect(response.body).toEqual({ queued: 1 });
    expect(capture.messages).toEqual([]);
  });

  it('sends nothing when the handler sets a 4xx status itself', async () => {
    const response = await running.request('POST', '/sets-status-4xx');
    expect(response.status).toBe(409);
    expect(capture.messages).toEqual([]);
  });

  it('sends for a non-default success status', async () => {
    const response = await running.request('POST', '/accepted');
    expect(response.status).toBe(202);
    expect(capture.topics).toEqual(['.items.accepted']);
  });

  it('snapshots the body when it is added', async () => {
    const response = await running.request('POST', '/mutates');
    expect(response.body).toEqual({ count: 2, nested: { list: [1, 2] } });
    expect(capture.messages[0].body).toMatchObject({ count: 1, nested: { list: [1] } });
  });

  it('fails the request at add() for a body JSON cannot represent, naming topic and path', async () => {
    const response = await running.request('POST', '/bad-body');
    expect(response.status).toBe(500);
    const errors = running.logs.linesAt('error').join('\n');
    expect(errors).toContain('MessageSerializationError');
    expect(errors).toContain('.items.bad');
    expect(errors).toContain('body.items[3].size');
    expect(capture.messages).toEqual([]);
  });

  it('fails the request at add() for a wildcard topic', async () => {
    const response = await running.request('POST', '/bad-topic');
    expect(response.status).toBe(500);
    expect(running.logs.linesAt('error').join('\n')).toContain('InvalidTopicError');
  });

  it('adds @EmitsMessage messages after the handler’s own, from the result or the body function', async () => {
    await running.request('POST', '/emits');
    expect(capture.topics).toEqual(['.things.before', '.things.created', '.things.summary']);
    expect(capture.messages[1].body).toMatchObject({ id: 7 });
    expect(capture.messages[2].body).toMatchObject({ id: 7, summary: true });
  });

  it('fails a request whose @EmitsMessage result is not a JSON object', async () => {
    const response = await running.request('POST', '/emits-array');
    expect(response.status).toBe(500);
    expect(running.logs.linesAt('error').join('\n')).toContain('expected a JSON object');
    expect(capture.messages).toEqual([]);
  });

  it('calls the messenger only for requests that added messages', async () => {
    await running.request('GET', '/nothing');
    expect(capture.batches).toEqual([]);
  });

  it('flushes a streaming handler once, when the stream completes', async () => {
    const response = await running.request('GET', '/stream');
    expect(response.status).toBe(200);
    expect(capture.batches).toHaveLength(1);
    expect(capture.bodiesOf('.stream.tick').map((body) => body.index)).toEqual([0, 1, 2]);
  });

  it('keeps the response and logs the failed attempt once, with ids and the next attempt', async () => {
    capture.failWith(new Error('broker unreachable'));
    const response = await running.request('POST', '/ok', { body: { value: 'b' } });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ done: true });
    await waitFor(() => running.logs.linesAt('warn').length === 1);
    const warnings = running.logs.linesAt('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('broker unreachable');
    expect(warnings[0]).toContain('2 message(s)');
    expect(warnings[0]).toContain('.items.added x1');
    expect(warnings[0]).toContain('(attempt 1); next attempt at');
    expect(warnings[0]).toMatch(/ids: [0-9a-f-]{36}, [0-9a-f-]{36}/);
    expect(running.logs.linesAt('error')).toEqual([]);
  });
});

describe.each(HTTP_PLATFORMS)('enrichment on %s', (platform) => {
  let running: RunningApp | undefined;
  afterEach(() => running?.close());

  it('reads the author from request.user and the comment from the configured header', async () => {
    let capture: CapturingMessenger;
    ({ running, capture } = await startCycleApp(platform, {
      commentHeader: 'X-Why',
      authorOf: (request) => (request as { headers: Record<string, string> }).headers['x-user'] ?? '',
    }));
    await running.request('POST', '/accepted', { headers: { 'X-Why': 'fix', 'X-User': 'bob' } });
    expect(capture.messages[0].body).toEqual({ value: 'kept', author: 'bob', comment: 'fix' });
  });

  it('uses a custom enricher, body keys winning', async () => {
    let capture: CapturingMessenger;
    ({ running, capture } = await startCycleApp(platform, {
      enrich: (context) => ({ path: context.switchToHttp().getRequest<{ url: string }>().url, value: 'enriched' }),
    }));
    await running.request('POST', '/accepted');
    expect(capture.messages[0].body).toEqual({ value: 'kept', path: '/accepted' });
  });

  it('fails the request when a custom enricher returns something JSON cannot represent', async () => {
    let capture: CapturingMessenger;
    ({ running, capture } = await startCycleApp(platform, { enrich: () => ({ seen: new Map() }) as never }));
    const response = await running.request('POST', '/accepted');
    expect(response.status).toBe(500);
    expect(running.logs.linesAt('error').join('\n')).toContain(
      'The enrich option returned fields JSON cannot represent: fields.seen is an instance of Map without toJSON()',
    );
    expect(capture.messages).toEqual([]);
  });

  it('computes the fields once per request, and add() returns the body that is sent', async () => {
    let capture: CapturingMessenger;
    let calls = 0;
    ({ running, capture } = await startCycleApp(platform, { enrich: () => ({ call: ++calls }) }));
    const first = await running.request('POST', '/returns-added');
    await running.request('POST', '/returns-added');
    await waitFor(() => capture.messages.length === 4);
    expect(capture.messages.map(({ body }) => body)).toEqual([
      { value: 1, call: 1 },
      { value: 2, call: 1 },
      { value: 1, call: 2 },
      { value: 2, call: 2 },
    ]);
    expect(first.body).toEqual({ returned: { value: 1, call: 1 } });
  });

  it('adds nothing when enrichment is off', async () => {
    let capture: CapturingMessenger;
    ({ running, capture } = await startCycleApp(platform, { enrich: false }));
    await running.request('POST', '/accepted');
    expect(capture.messages[0].body).toEqual({ value: 'kept' });
  });

  it('works beside the application’s own ClsModule with its middleware', async () => {
    let capture: CapturingMessenger;
    ({ running, capture } = await startCycleApp(platform, {}, [
      ClsModule.forRoot({ global: true, middleware: { mount: true, generateId: true } }),
    ]));
    await Promise.all([1, 2, 3].map((n) => running!.request('POST', '/ok', { body: { value: `v${n}` } })));
    await running.request('POST', '/throws');
    // Each request's own two messages, in its order; nothing from the request that threw.
    for (const value of ['v1', 'v2', 'v3']) {
      expect(capture.messages.filter((m) => m.body.value === value).map((m) => m.topic)).toEqual([
        '.items.added',
        '.audit.added',
      ]);
    }
    expect(capture.messages).toHaveLength(6);
  });

  it('injects the configured messenger under the Messenger token', async () => {
    let capture: CapturingMessenger;
    ({ running, capture } = await startCycleApp(platform));
    expect(running.app.get(Messenger)).toBe(capture);
  });
});
