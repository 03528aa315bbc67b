import { Test, type TestingModule } from '@nestjs/testing';
import {
  MemoryOutboxStore,
  MessageQueue,
  MessagingModule,
  MessengerSendError,
  MessengerUnavailableError,
  type ClaimRequest,
  type Message,
  type Messenger,
  type MessagingModuleOptions,
  type OutboxEntry,
} from 'nestjs-messaging';
import { sleep, waitFor } from './support/wait-for.js';

/** A memory store whose calls take a few ms, as a database's do, and that can fail for a while. */
class SlowStore extends MemoryOutboxStore {
  down = false;
  claims = 0;

  override async claim(request: ClaimRequest): Promise<OutboxEntry[]> {
    this.claims++;
    await sleep(5);
    if (this.down) throw new Error('connection lost (test)');
    return super.claim(request);
  }

  override async nextDueAt(): Promise<number | undefined> {
    await sleep(5);
    if (this.down) throw new Error('connection lost (test)');
    return super.nextDueAt();
  }
}

/** A bus whose answers the test decides, one send at a time; records what it took, in order. */
class ScriptedBus implements Messenger {
  sends = 0;
  readonly delivered: Message[] = [];
  answer: (messages: readonly Message[], send: number) => Error | undefined = () => undefined;

  async send(messages: readonly Message[]): Promise<void> {
    const error = this.answer(messages, ++this.sends);
    await sleep(2);
    if (error !== undefined) throw error;
    this.delivered.push(...messages);
  }
}

describe('delivery after a failure (found by replaying failures against the delivery worker)', () => {
  let moduleRef: TestingModule | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  async function start(
    bus: ScriptedBus,
    store: SlowStore,
    options: MessagingModuleOptions = {},
  ): Promise<MessageQueue> {
    moduleRef = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger: bus, outbox: store, ...options })],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    return moduleRef.get(MessageQueue);
  }

  it('a backlogged topic whose first batch the link dropped (not counted) is delivered, in order, without claim churn', async () => {
    const bus = new ScriptedBus();
    bus.answer = (messages, send) =>
      send === 1
        ? new MessengerSendError({
            acceptedIds: [],
            failures: messages.map(({ id }) => ({ messageId: id, reason: 'link-detached (test)', counted: false })),
          })
        : undefined;
    const store = new SlowStore({ maxMessages: 10_000 });
    const queue = await start(bus, store, { dispatch: { batchSize: 50 } });
    await queue.run(() => {
      for (let n = 0; n < 1000; n++) queue.add('.busy', { n });
    });
    await waitFor(() => bus.delivered.length === 1000, 20_000, '1,000 messages delivered');
    expect(bus.delivered.map(({ body }) => body.n)).toEqual(Array.from({ length: 1000 }, (_, n) => n));
    // 20 batches of 50, a few claims given back after the dropped link: not thousands.
    expect(store.claims).toBeLessThan(100);
  });

  it('a store that failed for a while is looked at again at the polling pace, so a due retry goes out', async () => {
    const bus = new ScriptedBus();
    bus.answer = (_, send) => (send === 1 ? new Error('refused once (test)') : undefined);
    const store = new SlowStore();
    const queue = await start(bus, store, {
      dispatch: { pollIntervalMs: 100, retry: { initialDelayMs: 300, jitter: 0 } },
    });
    await queue.run(() => {
      queue.add('.x', { n: 1 });
    });
    await waitFor(() => bus.sends === 1, 5000, 'the first, refused attempt');
    store.down = true;
    await sleep(400);
    store.down = false;
    await waitFor(() => bus.delivered.length === 1, 5000, 'the retry after the store came back');
  });

  it("in 'await' mode, a response whose message waited behind a send that found the bus gone goes out at once", async () => {
    const bus = new ScriptedBus();
    // The first send takes a while, then finds the bus unreachable; the bus stays away.
    bus.answer = () => new MessengerUnavailableError('the bus went away (test)');
    const slowFirst = bus.send.bind(bus);
    bus.send = async (messages) => {
      if (bus.sends === 0) await sleep(300);
      return slowFirst(messages);
    };
    const store = new SlowStore();
    const queue = await start(bus, store, {
      delivery: 'await',
      dispatch: { awaitTimeoutMs: 5000, busProbeIntervalMs: 60_000, retry: { initialDelayMs: 60_000 } },
    });
    const first = queue.run(() => {
      queue.add('.same', { n: 1 });
    });
    await waitFor(() => store.claims > 0, 5000, 'the first claim');
    await sleep(50);
    // Claimed while the first send is in flight: held behind it, then given back with it.
    const started = Date.now();
    await queue.run(() => {
      queue.add('.same', { n: 2 });
    });
    expect(Date.now() - started).toBeLessThan(2500);
    await first;
  });
});
