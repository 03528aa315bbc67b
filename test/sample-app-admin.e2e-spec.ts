import { createMessage, Messenger, OutboxStore, type OutboxEntry } from 'nestjs-messaging';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { AppModule } from '../sample-app/app.module.js';
import { HTTP_PLATFORMS } from '../sample-app/http-platform.js';
import { startApp, type RunningApp } from './support/http-app.js';
import { waitFor } from './support/wait-for.js';

// The sample app's admin endpoints over real HTTP, on its default (memory) outbox.
describe.each(HTTP_PLATFORMS)('sample app admin endpoints on %s', (platform) => {
  let running: RunningApp;
  let capture: CapturingMessenger;
  const poison = createMessage('.releases.added', { release_id: 'big-1' }, { key: 'fedora' });

  beforeEach(async () => {
    capture = new CapturingMessenger();
    running = await startApp(platform, { imports: [AppModule] }, (builder) =>
      builder.overrideProvider(Messenger).useValue(capture),
    );
    // A message the bus refused for good, as the dispatcher would record it. The memory store
    // works synchronously: nothing of the app's dispatcher runs between these calls.
    const store = running.app.get<OutboxStore>(OutboxStore);
    void store.append([poison]);
    // Read after the append: a claim at a time before the message was stored (a millisecond
    // boundary crossed between the two) finds it not yet due.
    const now = Date.now();
    void store.claim({ owner: 'earlier-dispatcher', limit: 1, now, leaseMs: 60_000 });
    const failure = { error: 'amqp:not-found', counted: true, messenger: 'AmqpMessenger' };
    await store.reschedule(
      'earlier-dispatcher',
      [{ id: poison.id, ...failure, nextAttemptAt: undefined, deadReason: 'rejected' }],
      now,
    );
  });
  afterEach(() => running.close());

  it('lists dead messages by reason and shows one with its history; 404 for an unknown id', async () => {
    const listed = await running.request('GET', '/admin/outbox/messages?status=dead&reason=rejected&key=fedora');
    expect(listed.status).toBe(200);
    expect((listed.body as OutboxEntry[]).map(({ message }) => message.id)).toEqual([poison.id]);
    const shown = await running.request('GET', `/admin/outbox/messages/${poison.id}`);
    expect(shown.body).toMatchObject({
      status: 'dead',
      deadReason: 'rejected',
      history: [{ error: 'amqp:not-found', messenger: 'AmqpMessenger', counted: true }],
    });
    expect((await running.request('GET', '/admin/outbox/messages/nope')).status).toBe(404);
    expect((await running.request('GET', '/admin/outbox/messages?status=gone')).status).toBe(400);
  });

  it('refuses an empty requeue or purge with 400, changing nothing; requeues by key, then sends it', async () => {
    const refused = await running.request('POST', '/admin/outbox/requeue', { body: {} });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('Give a filter, or { all: true }');
    expect((await running.request('POST', '/admin/outbox/purge', { body: { status: 'dead' } })).status).toBe(400);
    expect((await running.request('GET', '/admin/outbox')).body).toMatchObject({ stored: { dead: 1 } });
    const requeued = await running.request('POST', '/admin/outbox/requeue', { body: { key: 'fedora' } });
    expect(requeued.body).toEqual({ requeued: 1 });
    await waitFor(() => capture.messages.some(({ id }) => id === poison.id));
    expect((await running.request('POST', '/admin/outbox/purge', { body: { all: true } })).body).toEqual({
      purged: 0,
    });
  });
});
