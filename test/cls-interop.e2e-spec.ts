import { ClsModule } from 'nestjs-cls';
import { MessagingModule } from 'nestjs-messaging';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { HTTP_PLATFORMS } from '../sample-app/http-platform.js';
import { AuditService, CycleController } from './support/cycle.controller.js';
import { startApp, type RunningApp } from './support/http-app.js';

type ClsSetup = Parameters<typeof ClsModule.forRoot>[0];

const SETUPS: [string, ClsSetup, 'before' | 'after'][] = [
  ['middleware', { global: true, middleware: { mount: true } }, 'before'],
  ['guard', { global: true, guard: { mount: true } }, 'before'],
  ['interceptor, imported before MessagingModule', { global: true, interceptor: { mount: true } }, 'before'],
  ['interceptor, imported after MessagingModule', { global: true, interceptor: { mount: true } }, 'after'],
];

describe.each(HTTP_PLATFORMS)('beside the application’s own nestjs-cls set-up, on %s', (platform) => {
  let running: RunningApp | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it.each(SETUPS)('ClsModule with its %s: each request sends its own messages', async (_name, setup, order) => {
    const capture = new CapturingMessenger();
    const messaging = MessagingModule.forRoot({ messenger: capture, delivery: 'await' });
    const cls = ClsModule.forRoot(setup);
    running = await startApp(platform, {
      imports: order === 'before' ? [cls, messaging] : [messaging, cls],
      controllers: [CycleController],
      providers: [AuditService],
    });
    const responses = await Promise.all(
      [1, 2, 3].map((n) => running!.request('POST', '/ok', { body: { value: `v${n}` } })),
    );
    expect(responses.map((response) => response.status)).toEqual([201, 201, 201]);
    // Batches may mix requests (the dispatcher batches); what matters is whose messages carry what.
    const byValue = new Map<unknown, string[]>();
    for (const { body, topic } of capture.messages)
      byValue.set(body.value, [...(byValue.get(body.value) ?? []), topic]);
    expect(Object.fromEntries(byValue)).toEqual({
      v1: ['.items.added', '.audit.added'],
      v2: ['.items.added', '.audit.added'],
      v3: ['.items.added', '.audit.added'],
    });
  });
});
