import { Messenger, OutboxAdmin } from 'nestjs-messaging';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { AppModule } from '../sample-app/app.module.js';
import { HTTP_PLATFORMS } from '../sample-app/http-platform.js';
import { startApp, type RunningApp } from './support/http-app.js';

const FEDORA = { short: 'fedora', version: '41', name: 'Fedora' };
const ALICE = { authorization: 'Bearer alice' };

describe.each(HTTP_PLATFORMS)('sample app on %s', (platform) => {
  let running: RunningApp;
  let capture: CapturingMessenger;

  beforeEach(async () => {
    capture = new CapturingMessenger();
    running = await startApp(platform, { imports: [AppModule] }, (builder) =>
      builder.overrideProvider(Messenger).useValue(capture),
    );
  });
  afterEach(() => running.close());

  // Delivery is in the background (the sample app's default): a message leaves just after the
  // response, so positive checks wait for it. A request that must send nothing is checked on the
  // outbox's acceptance counter, which a request moves before its response, if it moves it at all.
  const acceptedSoFar = async (): Promise<number> => (await running.app.get(OutboxAdmin).stats()).sinceStart.accepted;
  /** Sends `request`, and expects it to leave no message in the outbox and none at the messenger. */
  async function expectNothingSent(request: () => Promise<{ status: number }>, status: number): Promise<void> {
    const before = await acceptedSoFar();
    expect((await request()).status).toBe(status);
    expect(await acceptedSoFar()).toBe(before);
    expect(capture.messages).toEqual([]);
  }

  it('POST /releases emits .releases.added with new_value, absolute url, author and comment', async () => {
    const response = await running.request('POST', '/releases', {
      body: FEDORA,
      headers: { ...ALICE, 'PDC-Change-Comment': 'new release' },
    });
    expect(response.status).toBe(201);
    await capture.waitForMessages(1);
    expect(capture.topics).toEqual(['.releases.added']);
    expect(capture.messages[0].body).toEqual({
      new_value: {
        release_id: 'fedora-41',
        short: 'fedora',
        version: '41',
        name: 'Fedora',
        release_type: 'ga',
        active: true,
      },
      url: `${running.url}/releases/fedora-41`,
      author: 'alice',
      comment: 'new release',
    });
  });

  it('a duplicate POST /releases returns 409 after add() and sends nothing', async () => {
    await running.request('POST', '/releases', { body: FEDORA });
    await capture.waitForMessages(1);
    capture.clear();
    await expectNothingSent(() => running.request('POST', '/releases', { body: FEDORA }), 409);
  });

  it('PATCH /releases/:id emits .releases.changed with old and new value, nothing when unchanged', async () => {
    await running.request('POST', '/releases', { body: FEDORA });
    await capture.waitForMessages(1);
    capture.clear();
    const changed = await running.request('PATCH', '/releases/fedora-41', { body: { active: false }, headers: ALICE });
    expect(changed.status).toBe(200);
    await capture.waitForMessages(1);
    expect(capture.topics).toEqual(['.releases.changed']);
    const body = capture.messages[0].body;
    expect(body.old_value).toMatchObject({ active: true });
    expect(body.new_value).toMatchObject({ active: false });
    expect(body.url).toBe(`${running.url}/releases/fedora-41`);
    expect(body.author).toBe('alice');
    capture.clear();
    await expectNothingSent(() => running.request('PATCH', '/releases/fedora-41', { body: { active: false } }), 200);
  });

  it('DELETE /releases/:id emits .releases.removed with old_value and url null', async () => {
    await running.request('POST', '/releases', { body: FEDORA });
    await capture.waitForMessages(1);
    capture.clear();
    const response = await running.request('DELETE', '/releases/fedora-41');
    expect(response.status).toBe(204);
    await capture.waitForMessages(1);
    expect(capture.messages[0].topic).toBe('.releases.removed');
    expect(capture.messages[0].body).toMatchObject({ old_value: { release_id: 'fedora-41' }, url: null });
    expect((await running.request('GET', '/releases/fedora-41')).status).toBe(404);
  });

  it('GET /releases/:id sends nothing', async () => {
    await running.request('POST', '/releases', { body: FEDORA });
    await capture.waitForMessages(1);
    capture.clear();
    await expectNothingSent(() => running.request('GET', '/releases/fedora-41'), 200);
    expect(capture.batches).toEqual([]);
  });

  it('POST /composes emits .compose through @EmitsMessage; POST /composes/:id/rpms emits .rpms', async () => {
    const created = await running.request('POST', '/composes', {
      body: { release: 'fedora-41', compose_date: '20261128', compose_type: 'nightly', compose_respin: 2 },
      headers: ALICE,
    });
    expect(created.status).toBe(201);
    const imported = await running.request('POST', '/composes/fedora-41-20261128.n.2/rpms', {
      body: { rpms: ['bash-5.2-1.x86_64', 'zsh-5.9-1.x86_64'] },
    });
    expect(imported.status).toBe(201);
    await capture.waitForMessages(2);
    expect(capture.topics).toEqual(['.compose', '.rpms']);
    const composeFields = {
      compose_id: 'fedora-41-20261128.n.2',
      compose_date: '20261128',
      compose_type: 'nightly',
      compose_respin: 2,
    };
    expect(capture.messages[0].body).toEqual({ action: 'create', ...composeFields, author: 'alice', comment: null });
    expect(capture.messages[1].body).toEqual({
      action: 'import',
      attribute: 'rpms',
      count: 2,
      ...composeFields,
      author: '',
      comment: null,
    });
  });

  it('a failing import (unknown compose) sends nothing', async () => {
    await expectNothingSent(() => running.request('POST', '/composes/nope/rpms', { body: { rpms: ['a'] } }), 404);
  });
});
