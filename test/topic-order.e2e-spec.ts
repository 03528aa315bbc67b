import { Test, type TestingModule } from '@nestjs/testing';
import {
  MemoryOutboxStore,
  MessageQueue,
  MessagingModule,
  MessengerSendError,
  MessengerUnavailableError,
  OutboxAdmin,
  type Message,
  type MessagingModuleOptions,
  type Messenger,
  type OutboxEntry,
} from 'nestjs-messaging';
import { sleep, waitFor } from './support/wait-for.js';

/**
 * A messenger like an HTTP webhook: each send() takes 0-10 ms at random, so concurrent calls finish
 * in any order. Records what reached the "bus", and how many sends of each topic overlapped.
 */
class JitteryMessenger implements Messenger {
  readonly delivered: Message[] = [];
  /** The most send() calls of one topic running at once. */
  maxPerTopic = 0;
  /** The most send() calls running at once, whatever their topics. */
  maxOverall = 0;
  /** Decides, after the jitter, whether (and how) the batch fails. */
  fail: (messages: readonly Message[]) => Error | undefined = () => undefined;
  private readonly running = new Map<string, number>();
  private overall = 0;

  async send(messages: readonly Message[]): Promise<void> {
    const topics = new Set(messages.map(({ topic }) => topic));
    for (const topic of topics) {
      const count = (this.running.get(topic) ?? 0) + 1;
      this.running.set(topic, count);
      this.maxPerTopic = Math.max(this.maxPerTopic, count);
    }
    this.maxOverall = Math.max(this.maxOverall, ++this.overall);
    try {
      await sleep(Math.random() * 10);
      const error = this.fail(messages);
      const accepted = error instanceof MessengerSendError ? new Set(error.acceptedIds) : undefined;
      this.delivered.push(...messages.filter(({ id }) => error === undefined || accepted?.has(id) === true));
      if (error !== undefined) throw error;
    } finally {
      this.overall--;
      for (const topic of topics) this.running.set(topic, (this.running.get(topic) ?? 1) - 1);
    }
  }

  /** The `n` of each delivered message of `topic`, in the order the bus got them. */
  orderOf(topic: string): number[] {
    return this.delivered.filter((message) => message.topic === topic).map(({ body }) => body.n as number);
  }
}

/**
 * Fails the messages of a batch from `from` on, as a broker does: accepted before, the rest refused
 * (counted against them) or lost with the link (another message's fault: not counted).
 */
function brokerFailure(
  messages: readonly Message[],
  from: number,
  outcome: 'link-detached' | 'rejected',
): MessengerSendError {
  return new MessengerSendError({
    acceptedIds: messages.slice(0, from).map(({ id }) => id),
    failures: messages.slice(from).map(({ id }) => ({
      messageId: id,
      reason: outcome === 'rejected' ? 'rejected: refused once' : 'link-detached: the link dropped',
      counted: outcome === 'rejected',
    })),
  });
}

const TOPICS = ['.a', '.b', '.c', '.d', '.e', '.f'];
const RUNS = 150;

/**
 * Runs that each add 1 to 4 messages on random topics, a few at a time, so batches mix requests and
 * topics. Returns, per topic, the `n` of its messages in acceptance order.
 */
async function produce(queue: MessageQueue): Promise<Map<string, number[]>> {
  const accepted = new Map<string, number[]>(TOPICS.map((topic) => [topic, []]));
  let n = 0;
  const runs: Promise<unknown>[] = [];
  for (let run = 0; run < RUNS; run++) {
    runs.push(
      queue.run(() => {
        for (let k = 1 + Math.floor(Math.random() * 4); k > 0; k--) {
          const topic = TOPICS[Math.floor(Math.random() * TOPICS.length)];
          queue.add(topic, { n });
          accepted.get(topic)?.push(n++);
        }
      }),
    );
    if (run % 3 === 0) await sleep(Math.random() * 3);
  }
  await Promise.all(runs);
  return accepted;
}

describe('per-topic order, kept by the delivery worker whatever the messenger does', () => {
  let moduleRef: TestingModule | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  async function start(messenger: Messenger, options: Omit<MessagingModuleOptions, 'messenger'> = {}) {
    moduleRef = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger, dispatch: { batchSize: 5 }, ...options })],
    }).compile();
    await moduleRef.init();
    return { queue: moduleRef.get(MessageQueue), admin: moduleRef.get(OutboxAdmin) };
  }

  const total = (accepted: Map<string, number[]>): number =>
    [...accepted.values()].reduce((sum, list) => sum + list.length, 0);

  it('never has two sends of one topic in flight: each topic arrives in acceptance order, once', async () => {
    const messenger = new JitteryMessenger();
    const { queue } = await start(messenger);
    const accepted = await produce(queue);
    await waitFor(() => messenger.delivered.length >= total(accepted), 10_000, 'every delivery');
    for (const topic of TOPICS) expect(messenger.orderOf(topic)).toEqual(accepted.get(topic));
    expect(messenger.delivered).toHaveLength(total(accepted));
    expect(messenger.maxPerTopic).toBe(1);
  });

  it('keeps that order across attempts that do not count: the bus unreachable, a link dropped mid-batch', async () => {
    const messenger = new JitteryMessenger();
    messenger.fail = (messages) => {
      const roll = Math.random();
      if (roll < 0.1) return new MessengerUnavailableError('connection refused');
      if (roll < 0.25) return brokerFailure(messages, Math.floor(Math.random() * messages.length), 'link-detached');
      return undefined;
    };
    const retry = { initialDelayMs: 5, jitter: 0 };
    const { queue, admin } = await start(messenger, { dispatch: { batchSize: 5, busProbeIntervalMs: 20, retry } });
    const accepted = await produce(queue);
    await waitFor(() => messenger.delivered.length >= total(accepted), 15_000, 'every delivery');
    for (const topic of TOPICS) expect(messenger.orderOf(topic)).toEqual(accepted.get(topic));
    expect(messenger.delivered).toHaveLength(total(accepted));
    expect(messenger.maxPerTopic).toBe(1);
    expect((await admin.stats()).sinceStart).toMatchObject({ failedAttempts: 0, dead: 0 });
  });

  it('lets a refused message step out of line while the rest of its topic keeps its order', async () => {
    const messenger = new JitteryMessenger();
    const refusedOnce = new Set<string>();
    messenger.fail = (messages) => {
      // The last message of some batches is refused at its first attempt (counted, retried 5 ms later).
      const last = messages[messages.length - 1];
      if (refusedOnce.has(last.id) || Math.random() >= 0.2) return undefined;
      refusedOnce.add(last.id);
      return brokerFailure(messages, messages.length - 1, 'rejected');
    };
    const { queue, admin } = await start(messenger, { dispatch: { batchSize: 5, retry: { initialDelayMs: 5 } } });
    const accepted = await produce(queue);
    await waitFor(() => messenger.delivered.length >= total(accepted), 10_000, 'every delivery');
    const refusedNs = new Set(
      messenger.delivered.filter(({ id }) => refusedOnce.has(id)).map(({ body }) => body.n as number),
    );
    expect(refusedNs.size).toBeGreaterThan(0);
    for (const topic of TOPICS) {
      const inLine = (list: readonly number[]): number[] => list.filter((n) => !refusedNs.has(n));
      expect(inLine(messenger.orderOf(topic))).toEqual(inLine(accepted.get(topic) ?? []));
    }
    expect(messenger.delivered).toHaveLength(total(accepted));
    expect(messenger.maxPerTopic).toBe(1);
    expect((await admin.stats()).sinceStart).toMatchObject({ failedAttempts: refusedNs.size, dead: 0 });
  });

  it('cuts a backlog of several topics into batches of other topics, sent side by side', async () => {
    const messenger = new JitteryMessenger();
    const { queue } = await start(messenger, { dispatch: { batchSize: 10 } });
    await queue.run(() => {
      for (let n = 0; n < 200; n++) queue.add(TOPICS[n % 4], { n });
    });
    await waitFor(() => messenger.delivered.length === 200, 5000, 'every delivery');
    for (const topic of TOPICS.slice(0, 4)) {
      expect(messenger.orderOf(topic)).toEqual(Array.from({ length: 50 }, (_, k) => TOPICS.indexOf(topic) + 4 * k));
    }
    expect(messenger.maxPerTopic).toBe(1);
    expect(messenger.maxOverall).toBeGreaterThan(1);
  });

  it('does not let a claim that ran while an earlier message went back into line overtake it', async () => {
    /** A store whose claims answer 30 ms after they took their leases, as a remote database may. */
    class SlowClaimStore extends MemoryOutboxStore {
      override async claim(...args: Parameters<MemoryOutboxStore['claim']>): Promise<OutboxEntry[]> {
        const entries = await super.claim(...args);
        await sleep(30);
        return entries;
      }
    }
    const delivered: number[] = [];
    let started = false;
    let dropped = false;
    const messenger: Messenger = {
      send: async (messages) => {
        started = true;
        await sleep(10);
        // The first attempt at message 1 ends with a dropped link: not counted, due again at once.
        if (!dropped) {
          dropped = true;
          throw brokerFailure(messages, 0, 'link-detached');
        }
        delivered.push(...messages.map(({ body }) => body.n as number));
      },
    };
    const { queue } = await start(messenger, { outbox: new SlowClaimStore() });
    await queue.run(() => queue.add('.a', { n: 1 }));
    await waitFor(() => started, 2000, 'the first send');
    // Claimed while message 1 is still leased here; the claim answers after message 1 went back.
    await queue.run(() => queue.add('.a', { n: 2 }));
    await waitFor(() => delivered.length === 2, 2000, 'both deliveries');
    expect(delivered).toEqual([1, 2]);
  });

  it('still sends other topics while one topic waits for a slow send', async () => {
    let release: (() => void) | undefined;
    const sent: (readonly Message[])[] = [];
    const messenger: Messenger = {
      send: (messages) => {
        sent.push(messages);
        if (!messages.some(({ topic, body }) => topic === '.slow' && body.n === 1)) return Promise.resolve();
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    };
    const { queue } = await start(messenger);
    await queue.run(() => queue.add('.slow', { n: 1 }));
    await waitFor(() => release !== undefined, 2000, 'the slow send to start');
    await queue.run(() => queue.add('.slow', { n: 2 }));
    for (let n = 0; n < 3; n++) await queue.run(() => queue.add('.fast', { n }));
    await waitFor(() => sent.flat().filter(({ topic }) => topic === '.fast').length === 3, 2000, 'the other topic');
    // The second message of the slow topic waits for the first send to end.
    expect(sent.flat().filter(({ topic }) => topic === '.slow')).toHaveLength(1);
    release?.();
    await waitFor(() => sent.flat().filter(({ topic }) => topic === '.slow').length === 2, 2000, 'the second one');
    expect(sent.at(-1)?.map(({ body }) => body.n)).toEqual([2]);
  });
});
