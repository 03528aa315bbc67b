import { Messenger } from 'nestjs-messaging';
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

  it('POST /releases emits .releases.added with new_value, absolute url, author and comment', async () => {
    const response = await running.request('POST', '/releases', {
      body: FEDORA,
      headers: { ...ALICE, 'PDC-Change-Comment': 'new release' },
    });
    expect(response.status).toBe(201);
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
    capture.clear();
    const response = await running.request('POST', '/releases', { body: FEDORA });
    expect(response.status).toBe(409);
    expect(capture.messages).toEqual([]);
  });

  it('PATCH /releases/:id emits .releases.changed with old and new value, nothing when unchanged', async () => {
    await running.request('POST', '/releases', { body: FEDORA });
    capture.clear();
    const changed = await running.request('PATCH', '/releases/fedora-41', { body: { active: false }, headers: ALICE });
    expect(changed.status).toBe(200);
    expect(capture.topics).toEqual(['.releases.changed']);
    const body = capture.messages[0].body;
    expect(body.old_value).toMatchObject({ active: true });
    expect(body.new_value).toMatchObject({ active: false });
    expect(body.url).toBe(`${running.url}/releases/fedora-41`);
    expect(body.author).toBe('alice');
    capture.clear();
    const unchanged = await running.request('PATCH', '/releases/fedora-41', { body: { active: false } });
    expect(unchanged.status).toBe(200);
    expect(capture.messages).toEqual([]);
  });

  it('DELETE /releases/:id emits .releases.removed with old_value and url null', async () => {
    await running.request('POST', '/releases', { body: FEDORA });
    capture.clear();
    const response = await running.request('DELETE', '/releases/fedora-41');
    expect(response.status).toBe(204);
    expect(capture.messages[0].topic).toBe('.releases.removed');
    expect(capture.messages[0].body).toMatchObject({ old_value: { release_id: 'fedora-41' }, url: null });
    expect((await running.request('GET', '/releases/fedora-41')).status).toBe(404);
  });

  it('GET /releases/:id sends nothing', async () => {
    await running.request('POST', '/releases', { body: FEDORA });
    capture.clear();
    const response = await running.request('GET', '/releases/fedora-41');
    expect(response.status).toBe(200);
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
    const response = await running.request('POST', '/composes/nope/rpms', { body: { rpms: ['a'] } });
    expect(response.status).toBe(404);
    expect(capture.messages).toEqual([]);
  });
});
