import { Test, type TestingModule } from '@nestjs/testing';
import {
  MemoryOutboxStore,
  MessageQueue,
  MessagingModule,
  MessagingOptionsError,
  type Message,
  type MessagingModuleOptions,
  type Messenger,
  type OutboxEntry,
} from 'nestjs-messaging';
import { RecordingLogger } from './support/http-app.js';
import { sleep, waitFor } from './support/wait-for.js';

/** A messenger whose send() hangs for ever while `hangs(messages)` says so; records what it delivered. */
class HangingMessenger implements Messenger {
  readonly calls: (readonly Message[])[] = [];
  readonly delivered: Message[] = [];
  delayMs = 0;
  hangs: (messages: readonly Message[]) => boolean = () => false;

  async send(messages: readonly Message[]): Promise<void> {
    this.calls.push(messages);
    if (this.hangs(messages)) return new Promise<void>(() => undefined);
    if (this.delayMs > 0) await sleep(this.delayMs);
    this.delivered.push(...messages);
  }
}

describe('dispatch.sendTimeoutMs', () => {
  let moduleRef: TestingModule | undefined;
  let logs: RecordingLogger;
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  async function start(
    messenger: Messenger,
    options: Omit<MessagingModuleOptions, 'messenger'>,
  ): Promise<MessageQueue> {
    moduleRef = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger, shutdownTimeoutMs: 200, ...options })],
    }).compile();
    logs = new RecordingLogger();
    moduleRef.useLogger(logs);
    await moduleRef.init();
    return moduleRef.get(MessageQueue);
  }

  it('frees the slot of a send() that never settles after sendTimeoutMs, well inside the lease, and retries it', async () => {
    const messenger = new HangingMessenger();
    let hang = true;
    messenger.hangs = (messages) => hang && messages.some(({ body }) => body.hang === true);
    const queue = await start(messenger, {
      dispatch: { leaseMs: 20_000, sendTimeoutMs: 100, retry: { initialDelayMs: 10, jitter: 0 } },
    });
    // Four sends that never settle take every slot (one topic each, so each is its own send).
    const hung: Message[] = [];
    for (const topic of ['.a', '.b', '.c', '.d']) {
      hung.push(await queue.run(() => queue.add(topic, { hang: true })));
      await waitFor(() => messenger.calls.length === hung.length, 2000, `the send on ${topic}`);
    }
    const accepted = Date.now();
    const next = await queue.run(() => queue.add('.e', {}));
    // Well inside the 20 s lease: a loaded machine (2 s missed once) still proves the slot was not held for the lease.
    await waitFor(() => messenger.delivered.some(({ id }) => id === next.id), 8000, 'a freed slot');
    // It waited for a timeout (logged before the slot is freed), not for the 20 s lease.
    expect(logs.linesAt('warn').length).toBeGreaterThan(0);
    expect(Date.now() - accepted).toBeLessThan(8000);
    expect(logs.linesAt('warn')[0]).toContain(
      "the messenger's send() did not settle within dispatch.sendTimeoutMs (100 ms, counted from the claim)",
    );
    hang = false;
    await waitFor(
      () => hung.every(({ id }) => messenger.delivered.some((message) => message.id === id)),
      2000,
      'the retries',
    );
  });

  it('counts from the claim: a slow claim leaves the send only the rest of the time', async () => {
    /** A store whose claims take 80 ms to answer. */
    class SlowClaimStore extends MemoryOutboxStore {
      override async claim(...args: Parameters<MemoryOutboxStore['claim']>): Promise<OutboxEntry[]> {
        const entries = await super.claim(...args);
        await sleep(80);
        return entries;
      }
    }
    const messenger = new HangingMessenger();
    // 50 ms would fit in sendTimeoutMs alone, not after an 80 ms claim.
    messenger.delayMs = 50;
    const queue = await start(messenger, {
      outbox: new SlowClaimStore(),
      dispatch: { leaseMs: 1000, sendTimeoutMs: 100, retry: { initialDelayMs: 10, jitter: 0 } },
    });
    await queue.run(() => queue.add('.a', {}));
    await waitFor(() => logs.linesAt('warn').length > 0, 2000, 'the failed attempt');
    expect(logs.linesAt('warn')[0]).toContain('did not settle within dispatch.sendTimeoutMs (100 ms');
    messenger.delayMs = 0;
    await waitFor(() => messenger.delivered.length === 1, 2000, 'the delivery once the send is quick');
  });

  it('must be less than leaseMs: start-up fails naming both', async () => {
    await expect(start(new HangingMessenger(), { dispatch: { leaseMs: 1000, sendTimeoutMs: 1000 } })).rejects.toThrow(
      MessagingOptionsError,
    );
    await expect(start(new HangingMessenger(), { dispatch: { leaseMs: 1000, sendTimeoutMs: 1000 } })).rejects.toThrow(
      'dispatch.sendTimeoutMs: must be less than dispatch.leaseMs (1000), got 1000',
    );
  });
});
