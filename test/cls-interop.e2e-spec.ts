import { Controller, UseInterceptors } from '@nestjs/common';
import { ClsInterceptor, ClsModule } from 'nestjs-cls';
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

/** The cycle's routes with nestjs-cls's interceptor bound to the controller, not mounted globally. */
@UseInterceptors(ClsInterceptor)
@Controller()
class ClsBoundCycleController extends CycleController {}

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

  // Found at start-up (ClsInterceptorDetection): only then is each request's context registered for it.
  it('ClsInterceptor bound with @UseInterceptors() on a controller: each request sends its own messages', async () => {
    const capture = new CapturingMessenger();
    running = await startApp(platform, {
      imports: [
        MessagingModule.forRoot({ messenger: capture, delivery: 'await' }),
        ClsModule.forRoot({ global: true }),
      ],
      controllers: [ClsBoundCycleController],
      providers: [AuditService],
    });
    const responses = await Promise.all(
      [1, 2].map((n) => running!.request('POST', '/ok', { body: { value: `v${n}` } })),
    );
    expect(responses.map((response) => response.status)).toEqual([201, 201]);
    expect(capture.messages.map(({ body, topic }) => `${JSON.stringify(body.value)} ${topic}`).sort()).toEqual([
      '"v1" .audit.added',
      '"v1" .items.added',
      '"v2" .audit.added',
      '"v2" .items.added',
    ]);
  });
});
