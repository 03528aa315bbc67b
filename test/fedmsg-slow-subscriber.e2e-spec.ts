import { createConnection, type Socket as TcpSocket } from 'node:net';
import { Subscriber, type XPublisher } from 'zeromq';
import { createMessage, MessengerSendError, MessengerUnavailableError, type Message } from 'nestjs-messaging';
import { FedmsgMessenger, type FedmsgMessengerOptions } from 'nestjs-messaging/fedmsg';
import { waitFor } from './support/wait-for.js';

// One stalled peer must not freeze unrelated work: a subscriber that lags past the high-water
// mark loses messages for itself only, and what the socket does not take is reported not sent.

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function openMessenger(options: Partial<FedmsgMessengerOptions> = {}): Promise<FedmsgMessenger> {
  const messenger = new FedmsgMessenger({
    endpoints: ['tcp://127.0.0.1:*'],
    lingerMs: 0,
    joinTimeoutMs: 300,
    ...options,
  });
  await messenger.onModuleInit();
  closers.push(() => messenger.onApplicationShutdown());
  return messenger;
}

/** What a reading subscriber got: Message ids in order, `.probe` messages apart. */
interface Reader {
  readonly ids: string[];
  readonly probes: Set<string>;
}

/** A SUB socket that reads everything, keeping each message's id (from msg_id `<year>-<id>`) in order. */
function readingSubscriber(endpoint: string): Reader {
  const socket = new Subscriber({ linger: 0 });
  socket.connect(endpoint);
  socket.subscribe();
  const ids: string[] = [];
  const probes = new Set<string>();
  const reading = (async () => {
    try {
      for await (const [topic, body] of socket) {
        const msgId = (JSON.parse(body.toString('utf8')) as { msg_id: string }).msg_id;
        const id = msgId.slice(msgId.indexOf('-') + 1);
        if (topic.toString('utf8').endsWith('.probe')) probes.add(id);
        else ids.push(id);
      }
    } catch {
      // closed
    }
  })();
  closers.push(async () => {
    socket.close();
    await reading;
  });
  return { ids, probes };
}

/** A SUB socket that subscribes and does not read; ZeroMQ queues for it up to the high-water marks. */
function stuckSubscriber(endpoint: string): Subscriber {
  const socket = new Subscriber({ linger: 0, receiveHighWaterMark: 10 });
  socket.connect(endpoint);
  socket.subscribe();
  closers.push(() => {
    if (!socket.closed) socket.close();
  });
  return socket;
}

/** Reads what a stuck subscriber had queued, until nothing more comes for 300 ms. */
async function drain(socket: Subscriber): Promise<number> {
  socket.receiveTimeout = 300;
  let count = 0;
  try {
    for (;;) {
      await socket.receive();
      count++;
    }
  } catch {
    return count; // EAGAIN: nothing more queued
  }
}

/** Sends `.probe` messages, one at a time, until the subscriber has one: its subscription has arrived. */
async function untilSubscribed(messenger: FedmsgMessenger, reader: Reader): Promise<void> {
  let probing: Promise<void> | undefined;
  await waitFor(
    () => {
      if (reader.probes.size > 0) return true;
      probing ??= messenger.send([createMessage('.probe', {})]).finally(() => (probing = undefined));
      return false;
    },
    5000,
    'the subscription to reach the publisher',
  );
  await probing;
}

const LARGE = { filler: 'x'.repeat(64_000) }; // 64 kB: a stuck subscriber's TCP buffers fill after ~100

/**
 * Sends `total` large messages five at a time, each batch once the reading subscriber has the
 * previous one (so it never lags itself), while `during(sent)` may change the other peers.
 */
async function lockStep(
  messenger: FedmsgMessenger,
  reader: Reader,
  total: number,
  during: (sent: number) => void = () => undefined,
): Promise<Message[]> {
  const all: Message[] = [];
  for (let sent = 0; sent < total; sent += 5) {
    during(sent);
    const batch = Array.from({ length: 5 }, () => createMessage('.flood', LARGE));
    all.push(...batch);
    await expect(messenger.send(batch)).resolves.toBeUndefined();
    await waitFor(() => reader.ids.length >= sent + 5, 5000, `the reading subscriber to get ${sent + 5} messages`);
  }
  return all;
}

describe('FedmsgMessenger with a slow or stuck subscriber (real ZeroMQ sockets)', () => {
  // Enough messages to fill a stuck subscriber's TCP buffers and both high-water marks.
  it.each([
    { stuck: 1, highWaterMark: 10, total: 500 },
    { stuck: 3, highWaterMark: 10, total: 500 },
    { stuck: 1, highWaterMark: 1000, total: 1500 },
  ])(
    'a subscriber that reads gets every message while $stuck other(s) never read (highWaterMark $highWaterMark)',
    async ({ stuck, highWaterMark, total }) => {
      const messenger = await openMessenger({ highWaterMark });
      const reader = readingSubscriber(messenger.endpoint!);
      const stuckOnes = Array.from({ length: stuck }, () => stuckSubscriber(messenger.endpoint!));
      await untilSubscribed(messenger, reader);

      const sent = await lockStep(messenger, reader, total);

      expect(reader.ids).toEqual(sent.map(({ id }) => id));
      // The stuck subscribers lost messages, each for itself only.
      for (const socket of stuckOnes) expect(await drain(socket)).toBeLessThan(total);
      expect(messenger.stats.dropped).toBe(0);
    },
  );

  it('a subscriber that stops reading mid-stream and then vanishes costs the others nothing', async () => {
    const messenger = await openMessenger({ highWaterMark: 10 });
    const reader = readingSubscriber(messenger.endpoint!);
    const quitter = stuckSubscriber(messenger.endpoint!);
    let quitterRead = 0;
    const quitterState = { reading: true };
    const quitting = (async () => {
      while (quitterState.reading) {
        await quitter.receive();
        quitterRead++;
      }
    })().catch(() => undefined);
    await untilSubscribed(messenger, reader);

    const sent = await lockStep(messenger, reader, 500, (count) => {
      if (count === 100) quitterState.reading = false; // stops reading after its current receive
      if (count === 300) quitter.close(); // killed: no goodbye
    });

    await quitting;
    expect(quitterRead).toBeGreaterThan(0);
    expect(reader.ids).toEqual(sent.map(({ id }) => id));
  });

  it('reports a message that cannot be encoded as not sent, holds back the rest of its topic, sends the others', async () => {
    const messenger = await openMessenger();
    const reader = readingSubscriber(messenger.endpoint!);
    await untilSubscribed(messenger, reader);
    const a1 = createMessage('.a', { n: 1 });
    // JSON has no NaN: a body that only a hand-made Message (not createMessage) could carry.
    const a2: Message = { ...createMessage('.a', {}), body: { n: Number.NaN } };
    const a3 = createMessage('.a', { n: 3 });
    const b1 = createMessage('.b', { n: 1 });

    const error = await messenger.send([a1, a2, b1, a3]).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(MessengerSendError);
    const { acceptedIds, failures, unavailable } = error as MessengerSendError;
    expect(acceptedIds).toEqual([a1.id, b1.id]);
    expect(failures.map(({ messageId, counted, retryable }) => [messageId, counted, retryable])).toEqual([
      [a2.id, true, false], // cannot be sent: dead at once
      [a3.id, false, undefined], // held back: retried
    ]);
    expect(failures[0].reason).toContain('cannot be encoded');
    expect(unavailable).toBeUndefined();
    expect(messenger.stats).toEqual({ published: expect.any(Number) as number, dropped: 2 });
    // What was reported sent arrived, and nothing else: a later message comes after them.
    const after = createMessage('.b', { n: 2 });
    await messenger.send([after]);
    await waitFor(() => reader.ids.includes(after.id), 5000, 'the message sent after the batch');
    expect(reader.ids).toEqual([a1.id, b1.id, after.id]);
  });

  it('reports every message as not sent, uncounted, when its socket has been closed under it', async () => {
    const messenger = await openMessenger();
    await messenger.send([createMessage('.before', {})]); // past the start-up join wait
    // Reaches into the messenger: nothing public closes the socket without closing the messenger.
    (messenger as unknown as { socket: XPublisher }).socket.close();
    const batch = [createMessage('.a', {}), createMessage('.b', {})];

    const error = await messenger.send(batch).catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(MessengerSendError);
    const { acceptedIds, failures, unavailable } = error as MessengerSendError;
    expect(acceptedIds).toEqual([]);
    expect(failures.map(({ messageId, counted }) => [messageId, counted])).toEqual(batch.map(({ id }) => [id, false]));
    expect(unavailable).toContain('socket is closed');
    expect(messenger.stats).toEqual({ published: 1, dropped: 2 });
  });

  it('rejects a send after shutdown as unavailable (not counted), and counts the batch as not sent', async () => {
    const messenger = new FedmsgMessenger({ endpoints: ['tcp://127.0.0.1:*'], lingerMs: 0 });
    await messenger.onModuleInit();
    await messenger.onApplicationShutdown();

    const sending = messenger.send([createMessage('.late', {}), createMessage('.late', {})]);

    await expect(sending).rejects.toBeInstanceOf(MessengerUnavailableError);
    await expect(sending).rejects.toThrow('FedmsgMessenger is not open');
    expect(messenger.stats).toEqual({ published: 0, dropped: 2 });
  });

  it('a TCP connection that never completes the ZeroMQ handshake (a port check) holds no publishing back', async () => {
    const joinTimeoutMs = 1000;
    const messenger = await openMessenger({ joinTimeoutMs });
    await messenger.send([createMessage('.start', {})]); // the start-up join wait is over
    const { port } = new URL(messenger.endpoint!.replace('tcp://', 'http://'));
    const silent: TcpSocket = createConnection({ host: '127.0.0.1', port: Number(port) });
    closers.push(() => void silent.destroy());
    await new Promise<void>((resolve, reject) => silent.once('connect', resolve).once('error', reject));

    const started = Date.now();
    const reader = readingSubscriber(messenger.endpoint!);
    await untilSubscribed(messenger, reader);

    // Waiting on the silent peer would take the whole joinTimeoutMs.
    expect(Date.now() - started).toBeLessThan(joinTimeoutMs / 2);
  });
});
