import {
  MemoryOutboxStore,
  MessageQueue,
  MessagingModule,
  MessagingOptionsError,
  MessengerUnavailableError,
  type DispatchOptions,
  type Messenger,
  type OutboxCounts,
  type OutboxStore,
} from 'nestjs-messaging';
import { AMQP_ADDRESS, AmqpMessenger } from 'nestjs-messaging/amqp';
import { MessagingHealthIndicator, type MessagingHealthDetails } from 'nestjs-messaging/terminus';
import type { Container } from 'rhea';
import { HealthModule } from '../sample-app/health/health.module.js';
import { brokers, lockProjectNode, projectNode } from './support/brokers.js';
import { startApp, type RunningApp } from './support/http-app.js';

/** What Terminus answers on `GET /health` (status 200 or 503). */
interface HealthBody {
  readonly status: string;
  readonly details: { readonly messaging: MessagingHealthDetails & { readonly status: 'up' | 'down' } };
}

/** The outbox part of a health body, failing when the store could not be read. */
function outboxOf(body: HealthBody): { pending: number; oldestPendingAgeMs: number; dead: number } {
  const { outbox } = body.details.messaging;
  if ('error' in outbox) throw new Error(`the outbox could not be read: ${outbox.error}`);
  return outbox;
}

/** A messenger whose sends settle only when the test opens the gate. */
class GatedMessenger implements Messenger {
  private release: (() => void) | undefined;
  private readonly gate = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  send(): Promise<void> {
    return this.gate;
  }
  open(): void {
    this.release?.();
  }
}

/** Polls an async condition every 20 ms until it holds, failing after `timeoutMs`. */
async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let running: RunningApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** The sample app's health module (TerminusModule + MessagingHealthModule) with `messenger`, over real HTTP. */
async function start(messenger: Messenger, dispatch: DispatchOptions = {}, outbox?: OutboxStore) {
  running = await startApp('express', {
    imports: [
      MessagingModule.forRoot({ messenger, dispatch, ...(outbox === undefined ? {} : { outbox }) }),
      HealthModule,
    ],
  });
  const app = running;
  const queue = app.app.get(MessageQueue);
  return {
    app,
    indicator: app.app.get(MessagingHealthIndicator),
    add: (count: number) =>
      queue.run(() => {
        for (let n = 0; n < count; n++) queue.add('.releases.added', { n });
      }),
    health: async (): Promise<{ status: number; body: HealthBody }> => {
      const response = await app.request('GET', '/health');
      return { status: response.status, body: response.body as HealthBody };
    },
  };
}

describe('MessagingHealthIndicator with the memory store', () => {
  it('GET /health is up with the backlog in its details; a messenger without state counts as up', async () => {
    const { health } = await start({ send: () => Promise.resolve() });
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.details.messaging).toEqual({
      status: 'up',
      outbox: { pending: 0, oldestPendingAgeMs: 0, dead: 0 },
      delivery: { paused: false },
      problems: [],
    });
  });

  it('backlog: down past maxPending and past maxOldestPendingMs, naming each; up once delivered', async () => {
    const messenger = new GatedMessenger();
    const { indicator, add, health } = await start(messenger);
    await add(5);
    const result = await indicator.check('messaging', { maxPending: 3 });
    expect(result.messaging.status).toBe('down');
    expect(result.messaging.outbox).toMatchObject({ pending: 5, dead: 0 });
    expect(result.messaging.problems).toEqual(['5 messages pending, more than maxPending (3)']);
    expect((await indicator.check('messaging', { maxPending: 5 })).messaging.status).toBe('up');
    await until(
      async () => (await indicator.check('messaging', { maxOldestPendingMs: 100 })).messaging.status === 'down',
      5000,
      'the oldest pending message to be older than 100 ms',
    );
    const aged = (await indicator.check('messaging', { maxOldestPendingMs: 100 })).messaging;
    expect(aged.problems).toEqual([
      expect.stringMatching(/^the oldest pending message is \d+ ms old, more than maxOldestPendingMs \(100\)$/),
    ]);
    expect('error' in aged.outbox ? 0 : aged.outbox.oldestPendingAgeMs).toBeGreaterThan(100);
    // The defaults (10,000 pending, 5 minutes) are far off.
    expect((await health()).status).toBe(200);
    messenger.open();
    await until(async () => outboxOf((await health()).body).pending === 0, 5000, 'delivery');
    expect((await indicator.check('messaging', { maxPending: 0, maxOldestPendingMs: 0 })).messaging.status).toBe('up');
  });

  it('dead messages are reported and only turn it down with maxDead', async () => {
    const failing: Messenger = { send: () => Promise.reject(new Error('rejected (test)')) };
    const { indicator, add, health } = await start(failing, { retry: { maxAttempts: 1 } });
    await add(2);
    await until(async () => outboxOf((await health()).body).dead === 2, 5000, 'two dead messages');
    expect((await health()).status).toBe(200);
    const strict = await indicator.check('messaging', { maxDead: 0 });
    expect(strict.messaging.status).toBe('down');
    expect(strict.messaging.problems).toEqual(['2 dead messages, more than maxDead (0)']);
  });

  it('a delivery pause (the bus unreachable) is down, unless downWhenPaused is false', async () => {
    const down: Messenger = { send: () => Promise.reject(new MessengerUnavailableError('the test bus is down')) };
    const { indicator, add, health } = await start(down, {
      busProbeIntervalMs: 60_000,
      retry: { initialDelayMs: 60_000 },
    });
    await add(1);
    await until(async () => (await health()).status === 503, 5000, 'the pause');
    const { body } = await health();
    expect(body.status).toBe('error');
    expect(body.details.messaging.delivery).toEqual({ paused: true, pausedUntil: expect.any(String) as string });
    expect(body.details.messaging.problems).toEqual([
      expect.stringMatching(/^delivery is paused until \S+Z: the bus was found unreachable$/),
    ]);
    expect((await indicator.check('messaging', { downWhenPaused: false })).messaging.status).toBe('up');
  });

  it('a store that cannot be read is down with its error, not a rejection', async () => {
    class BrokenCounts extends MemoryOutboxStore {
      override counts(): Promise<OutboxCounts> {
        return Promise.reject(new Error('disk I/O error (test)'));
      }
    }
    const { health } = await start({ send: () => Promise.resolve() }, {}, new BrokenCounts());
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.details.messaging.outbox).toEqual({ error: 'disk I/O error (test)' });
    expect(body.details.messaging.problems).toEqual(['the outbox store could not be read: disk I/O error (test)']);
  });

  it('invalid thresholds fail the check naming each field', async () => {
    const { indicator } = await start({ send: () => Promise.resolve() });
    const invalid = { maxPending: 1.5, maxDead: -1, downStatuses: ['gone'], colour: 'red' } as never;
    const error = await indicator.check('messaging', invalid).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MessagingOptionsError);
    expect((error as MessagingOptionsError).issues).toEqual([
      'thresholds.colour: unknown option (known: downStatuses, maxPending, maxOldestPendingMs, maxDead, downWhenPaused, storeTimeoutMs)',
      'thresholds.maxPending: expected a whole number >= 0, got 1.5',
      'thresholds.maxDead: expected a number >= 0, got -1',
      'thresholds.downStatuses: expected a list of starting, connected, reconnecting, refused, stopped; got ["gone"]',
    ]);
  });
});

/** Counts the connections an AmqpMessenger opens from now on. */
function countConnects(amqp: AmqpMessenger): { readonly count: number } {
  const counter = { count: 0 };
  const container = (amqp as unknown as { container: Container }).container;
  const connect = container.connect.bind(container);
  container.connect = (options) => {
    counter.count++;
    return connect(options);
  };
  return counter;
}

const { shared, project } = brokers();

describe('GET /health with AmqpMessenger (rhea) against RabbitMQ', () => {
  it('goes down at the first check after the project node stops, names the cause, and up once it is back', async () => {
    const unlock = await lockProjectNode();
    try {
      const amqp = new AmqpMessenger({
        urls: [project.url],
        username: project.username,
        password: project.password,
        address: AMQP_ADDRESS.rabbitmq3,
        reconnectDelayMs: 100,
        reconnectDelayMaxMs: 500,
      });
      const { health } = await start(amqp);
      // `starting` is up too: wait for the connection itself.
      await until(
        async () => (await health()).body.details.messaging.messenger?.status === 'connected',
        15_000,
        'the first connection',
      );
      const connected = (await health()).body.details.messaging;
      expect(connected.messenger).toMatchObject({ status: 'connected', url: project.url });
      // Checks read a snapshot: none opens a connection.
      const connects = countConnects(amqp);
      for (let n = 0; n < 5; n++) expect((await health()).status).toBe(200);
      expect(connects.count).toBe(0);
      await projectNode('stop');
      try {
        const { status, body } = await health();
        expect(status).toBe(503);
        expect(body.details.messaging.messenger).toMatchObject({ status: 'reconnecting', reason: expect.any(String) });
        expect(body.details.messaging.problems[0]).toMatch(/^messenger reconnecting/);
      } finally {
        await projectNode('start');
      }
      await until(async () => (await health()).status === 200, 30_000, '/health up after the restart');
      expect((await health()).body.details.messaging.messenger?.status).toBe('connected');
    } finally {
      unlock();
    }
  }, 90_000);

  it('is down against a broker that refuses the password, naming the broker condition', async () => {
    const amqp = new AmqpMessenger({
      urls: [shared.url],
      username: shared.username,
      password: 'not-the-password',
      address: AMQP_ADDRESS.rabbitmq3,
      reconnectDelayMs: 100,
      reconnectDelayMaxMs: 1000,
    });
    const { health } = await start(amqp);
    await until(async () => (await health()).status === 503, 20_000, 'the refusal');
    const { body } = await health();
    expect(body.details.messaging.messenger).toMatchObject({
      status: 'refused',
      condition: 'amqp:unauthorized-access',
      url: shared.url,
    });
    expect(body.details.messaging.problems).toEqual([
      expect.stringMatching(/^messenger refused \(amqp:unauthorized-access\): .*authentication failed/),
    ]);
    expect(JSON.stringify(body)).not.toContain('not-the-password');
  }, 40_000);
});
