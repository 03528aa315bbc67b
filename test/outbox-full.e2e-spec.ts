import { Controller, Post } from '@nestjs/common';
import {
  MemoryOutboxStore,
  MessageQueue,
  MessagingModule,
  MessengerUnavailableError,
  OutboxAdmin,
  OutboxFullError,
  OutboxWriteError,
  type OutboxStore,
} from 'nestjs-messaging';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { startApp, type RunningApp } from './support/http-app.js';

/** `POST /two` adds two messages on `.full`. */
@Controller()
class TwoMessagesController {
  constructor(private readonly messages: MessageQueue) {}

  @Post('two')
  two(): object {
    this.messages.add('.full', { n: 1 });
    this.messages.add('.full', { n: 2 });
    return {};
  }
}

/** A non-durable store of its own, without `appendNow`, whose appends fail (a quota, say). */
function refusingStore(): OutboxStore {
  const memory = new MemoryOutboxStore();
  return new Proxy(memory, {
    get(target, key, receiver): unknown {
      if (key === 'appendNow') return undefined;
      if (key === 'append') return () => Promise.reject(new Error('quota exceeded (test)'));
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

// Kind: add() returned a message, the request answered 2xx, and the outbox never took it.
describe('an outbox that refuses messages fails the request or run() (express, real HTTP server)', () => {
  let running: RunningApp | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function start(outbox: OutboxStore): Promise<RunningApp> {
    const messenger = new CapturingMessenger();
    // The bus is down: nothing leaves the outbox, so it fills up.
    messenger.failWith(new MessengerUnavailableError('bus down (test)'));
    running = await startApp('express', {
      imports: [MessagingModule.forRoot({ messenger, outbox })],
      controllers: [TwoMessagesController],
    });
    return running;
  }

  it('a full memory outbox: 503 and OutboxFullError for the request, run() rejects, nothing half-stored', async () => {
    const app = await start(new MemoryOutboxStore({ maxMessages: 3 }));
    expect((await app.request('POST', '/two')).status).toBe(201);
    const refused = await app.request('POST', '/two');
    expect(refused).toEqual({ status: 503, body: { statusCode: 503, message: 'Service Unavailable' } });
    expect(app.logs.linesAt('error').join('\n')).toContain('OutboxFullError: Could not store 2 message(s) on ".full"');
    const queue = app.app.get(MessageQueue);
    await expect(queue.run(() => queue.add('.job', {}))).resolves.toMatchObject({ topic: '.job' });
    const job = queue.run(() => queue.add('.job', {}));
    await expect(job).rejects.toThrow(OutboxFullError);
    await expect(job).rejects.toThrow('the memory outbox is full (maxMessages 3)');
    const stats = await app.app.get(OutboxAdmin).stats();
    expect(stats.stored.pending).toBe(3);
    expect(stats.sinceStart).toMatchObject({ accepted: 3, refused: 3 });
  });

  it('a non-durable store of its own whose append rejects: a 500 (OutboxWriteError), run() rejects', async () => {
    const app = await start(refusingStore());
    expect((await app.request('POST', '/two')).status).toBe(500);
    expect(app.logs.linesAt('error').join('\n')).toContain('OutboxWriteError');
    const queue = app.app.get(MessageQueue);
    await expect(queue.run(() => queue.add('.job', {}))).rejects.toThrow(OutboxWriteError);
    expect((await app.app.get(OutboxAdmin).stats()).sinceStart).toMatchObject({ accepted: 0, refused: 3 });
  });
});
