import { Controller, Injectable, Param, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { MessageQueue, MessagingModule } from 'nestjs-messaging';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { DemoAuthGuard } from '../sample-app/auth/demo-auth.guard.js';
import { HTTP_PLATFORMS } from '../sample-app/http-platform.js';
import { startApp, type RunningApp } from './support/http-app.js';

const REQUESTS = 500;
const MESSAGES_PER_REQUEST = 3;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@Injectable()
class StepService {
  constructor(private readonly messages: MessageQueue) {}

  async step(request: number, step: number): Promise<void> {
    // Random waits interleave the requests' continuations as real I/O would.
    await pause(Math.floor(Math.random() * 4));
    this.messages.add('.orders.step', { request, step });
  }
}

@Controller('orders')
class OrdersController {
  constructor(private readonly steps: StepService) {}

  @Post(':n')
  async create(@Param('n') n: string): Promise<{ n: number }> {
    const request = Number(n);
    for (let step = 0; step < MESSAGES_PER_REQUEST; step++) await this.steps.step(request, step);
    return { n: request };
  }
}

describe.each(HTTP_PLATFORMS)('per-request isolation on %s', (platform) => {
  let running: RunningApp;
  let capture: CapturingMessenger;

  beforeEach(async () => {
    capture = new CapturingMessenger();
    running = await startApp(platform, {
      imports: [MessagingModule.forRoot({ messenger: capture })],
      controllers: [OrdersController],
      providers: [StepService, { provide: APP_GUARD, useClass: DemoAuthGuard }],
    });
  });
  afterEach(() => running.close());

  it(`${REQUESTS} concurrent requests each send exactly their own messages, in order`, async () => {
    const responses = await Promise.all(
      Array.from({ length: REQUESTS }, (_, n) =>
        running.request('POST', `/orders/${n}`, { headers: { authorization: `Bearer user-${n}` } }),
      ),
    );
    expect(responses.filter((response) => response.status !== 201)).toEqual([]);
    // The dispatcher batches messages across requests; each request's own messages keep their order.
    const all = await capture.waitForMessages(REQUESTS * MESSAGES_PER_REQUEST);
    expect(all).toHaveLength(REQUESTS * MESSAGES_PER_REQUEST);
    const byRequest = new Map<number, unknown[]>();
    for (const message of all) {
      const request = message.body.request as number;
      byRequest.set(request, [...(byRequest.get(request) ?? []), message.body]);
    }
    const seen = new Set<number>();
    for (const [request, bodies] of byRequest) {
      expect(bodies).toEqual(
        Array.from({ length: MESSAGES_PER_REQUEST }, (_, step) => ({
          request,
          step,
          author: `user-${request}`,
          comment: null,
        })),
      );
      seen.add(request);
    }
    expect(seen.size).toBe(REQUESTS);
  });
});
