import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { CapturingMessenger } from '../testing/capturing.messenger.js';
import { MessageQueue } from './message-queue.service.js';
import { MessageLimitError, MessagingContextClosedError, MessagingContextError } from '../kernel/messaging.errors.js';
import { MessagingModule } from '../module/messaging.module.js';

describe('MessageQueue outside requests', () => {
  let moduleRef: TestingModule;
  let queue: MessageQueue;
  let capture: CapturingMessenger;

  beforeEach(async () => {
    capture = new CapturingMessenger();
    moduleRef = await Test.createTestingModule({
      // await: run() settles after the first delivery attempt, so the capture can be read right away.
      imports: [MessagingModule.forRoot({ messenger: capture, delivery: 'await' })],
    }).compile();
    queue = moduleRef.get(MessageQueue);
  });
  afterEach(() => moduleRef.close());

  it('throws MessagingContextError outside a context, saying how to open one', () => {
    expect(queue.isActive()).toBe(false);
    expect(queue.pending).toEqual([]);
    expect(() => queue.add('.cron', {})).toThrow(MessagingContextError);
    expect(() => queue.add('.cron', {})).toThrow('messageQueue.run(');
  });

  it('run() sends what fn added when it resolves, and returns its result', async () => {
    const result = await queue.run(async () => {
      expect(queue.isActive()).toBe(true);
      queue.add('.cron.one', { n: 1 });
      await new Promise((resolve) => setTimeout(resolve, 1));
      queue.add('.cron.two', { n: 2 }, { headers: { priority: 4 } });
      expect(queue.pending).toHaveLength(2);
      return 'done';
    });
    expect(result).toBe('done');
    expect(capture.batches).toHaveLength(1);
    expect(capture.topics).toEqual(['.cron.one', '.cron.two']);
    expect(capture.messages[1].headers).toEqual({ priority: 4 });
    // No request: no enrichment.
    expect(capture.messages[0].body).toEqual({ n: 1 });
  });

  it('run() drops what fn added when it rejects, and rethrows', async () => {
    await expect(
      queue.run(() => {
        queue.add('.cron.one', {});
        throw new Error('job failed');
      }),
    ).rejects.toThrow('job failed');
    expect(capture.messages).toEqual([]);
  });

  it('nested run() has its own batch, sent when it resolves', async () => {
    await queue.run(async () => {
      queue.add('.outer', {});
      await queue.run(() => {
        queue.add('.inner', {});
      });
      expect(capture.topics).toEqual(['.inner']);
      expect(queue.pending.map((m) => m.topic)).toEqual(['.outer']);
    });
    expect(capture.batches.map((batch) => batch.map((m) => m.topic))).toEqual([['.inner'], ['.outer']]);
  });

  it('refuses adds after the context completed, instead of losing them silently', async () => {
    // A timer started inside the context still runs in it after the context completed.
    const late = new Promise<unknown>((resolve) => {
      void queue.run(() => {
        setTimeout(() => {
          try {
            queue.add('.late', {});
            resolve(undefined);
          } catch (error) {
            resolve(error);
          }
        }, 5);
      });
    });
    expect(await late).toBeInstanceOf(MessagingContextClosedError);
    expect(String(await late)).toContain(
      'Cannot add a message on topic ".late": its MessageQueue.run() already completed and its messages went to the outbox',
    );
    expect(capture.messages).toEqual([]);
  });

  it('refuses an add after a run() that failed, naming the topic', async () => {
    let resume: () => void = () => undefined;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    let late: unknown;
    await expect(
      queue.run(() => {
        void resumed.then(() => {
          try {
            late = queue.add('.late.after.failure', {});
          } catch (error) {
            late = error;
          }
        });
        throw new Error('job failed');
      }),
    ).rejects.toThrow('job failed');
    resume();
    await resumed;
    await Promise.resolve();
    expect(late).toBeInstanceOf(MessagingContextClosedError);
    expect(String(late)).toContain(
      'Cannot add a message on topic ".late.after.failure": its MessageQueue.run() already failed',
    );
  });

  it('caps a run() at maxMessagesPerRequest: the next add() throws MessageLimitError naming the option', async () => {
    const capped = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger: capture, delivery: 'await', maxMessagesPerRequest: 3 })],
    }).compile();
    try {
      const cappedQueue = capped.get(MessageQueue);
      let refused: unknown;
      await cappedQueue.run(() => {
        for (const n of [1, 2, 3]) cappedQueue.add('.capped', { n });
        try {
          cappedQueue.add('.capped.fourth', {});
        } catch (error) {
          refused = error;
        }
      });
      expect(refused).toBeInstanceOf(MessageLimitError);
      expect(refused).toMatchObject({ topic: '.capped.fourth', limit: 3 });
      expect(String(refused)).toContain(
        'this run() already holds 3 messages, the limit set by the MessagingModule option maxMessagesPerRequest',
      );
      expect(capture.topics).toEqual(['.capped', '.capped', '.capped']);
    } finally {
      await capped.close();
    }
  });

  it('run() does not reject when the messenger fails; the failure is logged once and retried', async () => {
    const logged = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    capture.failWith(new Error('down'));
    await expect(queue.run(() => queue.add('.cron', {}))).resolves.toMatchObject({ topic: '.cron' });
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0][0]).toMatch(
      /^Delivery of 1 message\(s\) \[topics: \.cron x1\] \[ids: [0-9a-f-]{36}\] failed \(attempt 1\); next attempt at \d{4}-\d\d-\d\dT[\d:.]+Z: down$/,
    );
    logged.mockRestore();
  });

  it('in background mode, run() settles once the messages are in the outbox; they are sent right after', async () => {
    const background = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger: capture })],
    }).compile();
    try {
      const backgroundQueue = background.get(MessageQueue);
      await backgroundQueue.run(() => backgroundQueue.add('.cron', { n: 1 }));
      expect((await capture.waitForMessages(1)).map(({ body }) => body)).toEqual([{ n: 1 }]);
    } finally {
      await background.close();
    }
  });
});
