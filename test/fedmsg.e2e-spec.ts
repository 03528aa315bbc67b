import { Publisher, Subscriber, XSubscriber } from 'zeromq';
import { createMessage } from 'nestjs-messaging';
import { canonicalJson as fedmsgCanonicalJson } from '../lib/messengers/fedmsg/canonical-json.js';
import {
  FedmsgMessenger,
  verifyFedmsgSignature,
  type FedmsgEnvelope,
  type FedmsgMessengerOptions,
} from 'nestjs-messaging/fedmsg';
import { waitFor } from './support/wait-for.js';
import { nextEvent } from './support/zmq-events.js';
import { createTestPki, type TestPki } from './support/test-pki.js';

type Frames = [string, string];

/** A SUB socket that collects what it receives as [topic, body] strings. */
class CollectingSubscriber {
  readonly received: Frames[] = [];
  readonly socket: Subscriber;
  /** Resolves when the TCP connection is up (the monitor must exist before connect()). */
  readonly connected: Promise<unknown>;
  private readonly reading: Promise<void>;

  /** @param subscribeNow - `false`: subscribe later, with `socket.subscribe()`. */
  constructor(endpoint: string, options: ConstructorParameters<typeof Subscriber>[0] = {}, subscribeNow = true) {
    this.socket = new Subscriber({ linger: 0, ...options });
    this.connected = nextEvent(this.socket, 'connect');
    this.socket.connect(endpoint);
    if (subscribeNow) this.socket.subscribe();
    const socket = this.socket;
    this.reading = (async () => {
      try {
        for await (const frames of socket) {
          this.received.push([frames[0].toString('utf8'), frames[1]?.toString('utf8') ?? '']);
        }
      } catch {
        // closed
      }
    })();
  }

  async waitFor(count: number, timeoutMs = 5000): Promise<Frames[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`received ${this.received.length} of ${count} messages`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.received;
  }

  async close(): Promise<void> {
    this.socket.close();
    await this.reading;
  }
}

/** A minimal fedmsg-relay: SUB bound inbound, PUB bound outbound, forwarding everything. */
class TestRelay {
  readonly inbound = new XSubscriber({ linger: 0 });
  readonly outbound = new Publisher({ linger: 0 });
  private forwarding: Promise<void> | undefined;

  async start(): Promise<{ inbound: string; outbound: string }> {
    await this.inbound.bind('tcp://127.0.0.1:*');
    await this.outbound.bind('tcp://127.0.0.1:*');
    await this.inbound.send(Buffer.from([1])); // subscribe to everything from publishers
    this.forwarding = (async () => {
      try {
        for await (const frames of this.inbound) await this.outbound.send(frames);
      } catch {
        // closed
      }
    })();
    return { inbound: this.inbound.lastEndpoint!, outbound: this.outbound.lastEndpoint! };
  }

  async close(): Promise<void> {
    this.inbound.close();
    this.outbound.close();
    await this.forwarding;
  }
}

const opened: { close(): Promise<void> }[] = [];
async function openMessenger(options: FedmsgMessengerOptions): Promise<FedmsgMessenger> {
  const messenger = new FedmsgMessenger(options);
  await messenger.onModuleInit();
  opened.push({ close: () => messenger.onApplicationShutdown() });
  return messenger;
}
function subscribe(
  endpoint: string,
  options?: ConstructorParameters<typeof Subscriber>[0],
  subscribeNow = true,
): CollectingSubscriber {
  const subscriber = new CollectingSubscriber(endpoint, options, subscribeNow);
  opened.push(subscriber);
  return subscriber;
}

afterEach(async () => {
  for (const socket of opened.splice(0).reverse()) await socket.close();
});

describe('FedmsgMessenger over real ZeroMQ sockets', () => {
  it('binds, and a subscriber that connects just before the first publish receives the exact two frames', async () => {
    const messenger = await openMessenger({ endpoints: ['tcp://127.0.0.1:*'], environment: 'prod', username: 'pdc' });
    const subscriber = subscribe(messenger.endpoint!);
    const first = createMessage('.compose', { compose_id: 'Fedora-41-20261128.n.0', note: 'naïve 🚢', path: 'a/b' });
    const second = createMessage('.rpms.', { count: 2, ratio: 0.5 });
    await messenger.send([first, second]);
    const [[topic1, body1], [topic2, body2]] = await subscriber.waitFor(2);
    expect(topic1).toBe('org.fedoraproject.prod.pdc.compose');
    expect(topic2).toBe('org.fedoraproject.prod.pdc.rpms');
    const envelope: FedmsgEnvelope = {
      topic: 'org.fedoraproject.prod.pdc.compose',
      msg: first.body,
      timestamp: Math.floor(first.timestamp / 1000),
      msg_id: `${new Date(first.timestamp).getFullYear()}-${first.id}`,
      i: 1,
      username: 'pdc',
    };
    expect(body1).toBe(fedmsgCanonicalJson(envelope));
    expect(body1).toContain('"note":"na\\u00efve \\ud83d\\udea2","path":"a/b"');
    expect(JSON.parse(body2)).toMatchObject({ i: 2, msg: { count: 2, ratio: 0.5 } });
    expect(messenger.stats).toEqual({ published: 2, dropped: 0 });
  });

  it('holds publishing while a late subscriber joins, so it misses nothing', async () => {
    const messenger = await openMessenger({ endpoints: ['tcp://127.0.0.1:*'], joinTimeoutMs: 1000 });
    await messenger.send([createMessage('.start', {})]); // resolves once the start-up join wait is over
    // The subscriber connects but subscribes only once the publisher has seen its ZeroMQ handshake
    // (the join wait starts there; the gate is private, read here only to order the test's steps).
    const subscriber = subscribe(messenger.endpoint!, {}, false);
    const gate = (messenger as unknown as { gate: { readonly holding: boolean } }).gate;
    await waitFor(() => gate.holding, 5000, 'the publisher to see the subscriber join');
    subscriber.socket.subscribe();
    // Published at once, before the subscription can have reached the publisher: a plain PUB
    // socket would drop it for this subscriber.
    await messenger.send([createMessage('.late', { n: 1 })]);
    await expect(subscriber.waitFor(1)).resolves.toHaveLength(1);
  });

  it('binds the first endpoint it can, and fails at start-up naming every endpoint when none binds', async () => {
    const first = await openMessenger({ endpoints: ['tcp://127.0.0.1:*'] });
    const taken = first.endpoint!;
    const second = await openMessenger({ endpoints: [taken, 'tcp://127.0.0.1:*'] });
    expect(second.endpoint).not.toBe(taken);
    const failing = new FedmsgMessenger({ endpoints: [taken, taken] });
    await expect(failing.onModuleInit()).rejects.toThrow(`could not bind any endpoint: ${taken} (`);
  });

  it('connects to a relay in active mode, and the relay forwards to subscribers', async () => {
    const relay = new TestRelay();
    const { inbound, outbound } = await relay.start();
    opened.push(relay);
    const subscriber = subscribe(outbound);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the test relay's own subscriber joins
    const messenger = await openMessenger({ endpoints: [inbound], active: true });
    await messenger.send([createMessage('.compose', { via: 'relay' })]);
    const [[topic, body]] = await subscriber.waitFor(1);
    expect(topic).toBe('org.fedoraproject.dev.pdc.compose');
    expect(JSON.parse(body)).toMatchObject({ msg: { via: 'relay' }, i: 1 });
  });

  it('delivers what was published just before a graceful shutdown', async () => {
    const messenger = new FedmsgMessenger({ endpoints: ['tcp://127.0.0.1:*'] });
    await messenger.onModuleInit();
    const subscriber = subscribe(messenger.endpoint!);
    const sending = messenger.send(Array.from({ length: 200 }, (_, n) => createMessage('.bulk', { n })));
    await messenger.onApplicationShutdown();
    await sending;
    await expect(subscriber.waitFor(200)).resolves.toHaveLength(200);
    await expect(messenger.send([createMessage('.after', {})])).rejects.toThrow('FedmsgMessenger is not open');
  });
  it('reports its state for health checks: starting, connected once bound (with the endpoint), stopped', async () => {
    const messenger = new FedmsgMessenger({ endpoints: ['tcp://127.0.0.1:*'] });
    expect(messenger.state.status).toBe('starting');
    await messenger.onModuleInit();
    expect(messenger.state).toEqual({ status: 'connected', url: messenger.endpoint, since: expect.any(Date) as Date });
    expect(messenger.state.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    await messenger.onApplicationShutdown();
    expect(messenger.state.status).toBe('stopped');
  });
  // A stuck subscriber at the high-water mark: test/fedmsg-slow-subscriber.e2e-spec.ts.
});

describe('FedmsgMessenger signing over real sockets', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = createTestPki();
  });
  afterAll(() => {
    pki.remove();
  });

  it('sends signed messages that verify against the CA', async () => {
    const messenger = await openMessenger({
      endpoints: ['tcp://127.0.0.1:*'],
      sign: { certificate: pki.certificate, privateKey: pki.privateKey },
    });
    const subscriber = subscribe(messenger.endpoint!);
    await messenger.send([createMessage('.compose', { compose_id: 'c-1' })]);
    const [[, body]] = await subscriber.waitFor(1);
    const envelope = JSON.parse(body) as Record<string, unknown>;
    expect(envelope.crypto).toBe('x509');
    expect(verifyFedmsgSignature(envelope, pki.read(pki.caCertificate))).toEqual({ valid: true });
    expect(verifyFedmsgSignature(envelope, pki.read(pki.otherCaCertificate)).valid).toBe(false);
  });

  it('fails at start-up when the key does not match the certificate', async () => {
    const messenger = new FedmsgMessenger({
      endpoints: ['tcp://127.0.0.1:*'],
      sign: { certificate: pki.certificate, privateKey: pki.otherPrivateKey },
    });
    await expect(messenger.onModuleInit()).rejects.toThrow('sign.privateKey');
  });
});
