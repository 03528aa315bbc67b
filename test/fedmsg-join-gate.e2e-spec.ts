import { Subscriber } from 'zeromq';
import { createMessage } from 'nestjs-messaging';
import { FedmsgMessenger } from 'nestjs-messaging/fedmsg';
import { sleep, waitFor } from './support/wait-for.js';

// A peer that joins over and over (and subscribes or not) must not hold publishing back for more
// than a small share of the time: the join wait is for new subscribers, not a lever on every topic.

const joinTimeoutMs = 300;
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A SUB socket that reads everything and counts it (`.probe` messages apart). */
function readingSubscriber(endpoint: string): { count: () => number; probed: () => boolean } {
  const socket = new Subscriber({ linger: 0 });
  socket.connect(endpoint);
  socket.subscribe();
  let count = 0;
  let probed = false;
  const reading = (async () => {
    try {
      for await (const [topic] of socket) {
        if (topic.toString('utf8').endsWith('.probe')) probed = true;
        else count++;
      }
    } catch {
      // closed
    }
  })();
  closers.push(async () => {
    socket.close();
    await reading;
  });
  return { count: () => count, probed: () => probed };
}

/** A peer that connects, subscribes or not, closes after `lifeMs`, and connects again, until stopped. */
function reconnectLoop(endpoint: string, subscribes: boolean, lifeMs: number): () => Promise<void> {
  const loop = { running: true };
  const looping = (async () => {
    while (loop.running) {
      const socket = new Subscriber({ linger: 0 });
      socket.connect(endpoint);
      if (subscribes) socket.subscribe();
      await sleep(lifeMs);
      socket.close();
      await sleep(10);
    }
  })();
  return async () => {
    loop.running = false;
    await looping;
  };
}

interface Phase {
  /** Messages the reader got per ms. */
  readonly rate: number;
  /** Share of the phase spent inside `send()` (0..1). */
  readonly sending: number;
  readonly slowestSendMs: number;
}

/** Sends batches of five for `durationMs`, each once the reader has the previous one. */
async function publishFor(messenger: FedmsgMessenger, reader: { count: () => number }, durationMs: number) {
  const start = Date.now();
  const before = reader.count();
  let sent = before;
  let inSend = 0;
  let slowestSendMs = 0;
  while (Date.now() - start < durationMs) {
    const sendStart = Date.now();
    await messenger.send(Array.from({ length: 5 }, () => createMessage('.flood', { n: sent })));
    const took = Date.now() - sendStart;
    inSend += took;
    slowestSendMs = Math.max(slowestSendMs, took);
    sent += 5;
    await waitFor(() => reader.count() >= sent, 5000, `the reader to get ${sent} messages`);
  }
  const elapsed = Date.now() - start;
  return { rate: (reader.count() - before) / elapsed, sending: inSend / elapsed, slowestSendMs } satisfies Phase;
}

describe('FedmsgMessenger join wait with a peer that keeps reconnecting (real ZeroMQ sockets)', () => {
  it.each([
    // Never subscribes: after a few unanswered joins, quiet periods; at most the hold budget.
    { subscribes: false, lifeMs: 100, extraShare: 0.25, extraSlowestMs: joinTimeoutMs },
    // Subscribes each time: each join ends with its subscription, a few ms.
    { subscribes: true, lifeMs: 100, extraShare: 0.1, extraSlowestMs: 50 },
  ])(
    'a peer reconnecting every $lifeMs ms (subscribes: $subscribes) holds publishing back only a small share of the time',
    async ({ subscribes, lifeMs, extraShare, extraSlowestMs }) => {
      const messenger = new FedmsgMessenger({
        endpoints: ['tcp://127.0.0.1:*'],
        lingerMs: 0,
        joinTimeoutMs,
        highWaterMark: 10,
      });
      await messenger.onModuleInit();
      closers.push(() => messenger.onApplicationShutdown());
      const reader = readingSubscriber(messenger.endpoint!);
      let probing: Promise<void> | undefined;
      await waitFor(
        () => {
          probing ??= messenger.send([createMessage('.probe', {})]).finally(() => (probing = undefined));
          return reader.probed();
        },
        5000,
        'the reader to subscribe',
      );
      await probing;

      const calm = await publishFor(messenger, reader, 1500);
      const stop = reconnectLoop(messenger.endpoint!, subscribes, lifeMs);
      closers.push(stop);
      const flapping = await publishFor(messenger, reader, 4000);
      await stop();

      // Without bounds each reconnect held every send for up to lifeMs: 84 % of the time in send()
      // without subscriptions (rate 0.16 × calm), 22 % with them (a subscription reported before its handshake).
      expect(flapping.sending).toBeLessThan(calm.sending + extraShare);
      expect(flapping.rate).toBeGreaterThan(calm.rate * 0.5);
      expect(flapping.slowestSendMs).toBeLessThan(calm.slowestSendMs + extraSlowestMs);
      expect(messenger.stats.dropped).toBe(0);
    },
  );
});
