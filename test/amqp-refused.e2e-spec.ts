import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { createMessage, MessageQueue, MessagingModule, OutboxAdmin } from 'nestjs-messaging';
import {
  AMQP_ADDRESS,
  AmqpConnectionError,
  AmqpConnectionRefusedError,
  AmqpMessenger,
  type AmqpMessengerOptions,
} from 'nestjs-messaging/amqp';
import amqplib from 'amqplib';
import type { Container } from 'rhea';
import { brokers, lockProjectNode, projectNode, projectNodeEval } from './support/brokers.js';
import { waitFor } from './support/wait-for.js';

// A real RabbitMQ refusing the connection (wrong password, no permission) or gone (stopped).
Logger.overrideLogger(['error']);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  jest.restoreAllMocks();
});

/** Counts the connections the messenger opens. */
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

async function refusal(sending: Promise<void>): Promise<AmqpConnectionError> {
  try {
    await sending;
  } catch (error) {
    if (error instanceof AmqpConnectionError) return error;
    throw error;
  }
  throw new Error('expected send() to fail to connect');
}

/** Every line any Nest logger writes from now on, at any level. */
function allLogLines(): () => string[] {
  const spies = (['log', 'warn', 'error', 'debug', 'verbose', 'fatal'] as const).map((level) =>
    jest.spyOn(Logger.prototype, level),
  );
  return () => spies.flatMap((spy) => spy.mock.calls.map((call) => call.map(String).join(' ')));
}

const timers = (): number => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;

const { shared, project } = brokers();

describe('AmqpMessenger against a RabbitMQ that refuses it', () => {
  it('names a wrong password once at error level, retries rarely, keeps the message, and leaves nothing running after close', async () => {
    const timersBefore = timers();
    const errors = jest.spyOn(Logger.prototype, 'error');
    const amqp = new AmqpMessenger({
      urls: [shared.url],
      username: 'guest',
      password: 'not-the-password',
      address: AMQP_ADDRESS.rabbitmq3,
      connectionTimeout: 5,
      reconnectDelayMs: 100,
      reconnectDelayMaxMs: 1000,
    });
    let moduleRef: TestingModule | undefined = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ messenger: amqp, dispatch: { busProbeIntervalMs: 200 } })],
    }).compile();
    cleanups.push(() => moduleRef?.close() ?? Promise.resolve());
    await moduleRef.init();
    const connects = countConnects(amqp);
    const queue = moduleRef.get(MessageQueue);
    await queue.run(() => {
      queue.add('.refused', { n: 1 });
    });
    await waitFor(() => amqp.state.status === 'refused', 10_000, 'the refusal');
    const started = Date.now();
    await waitFor(() => connects.count >= 2, 15_000, 'a second attempt');
    // RabbitMQ answers a wrong password after a few seconds; retries come no sooner than reconnectDelayMaxMs apart.
    expect(connects.count).toBeLessThanOrEqual(2 + (Date.now() - started) / 1000);
    expect(amqp.state).toMatchObject({ status: 'refused', condition: 'amqp:unauthorized-access', url: shared.url });
    const error = await refusal(amqp.send([createMessage('.refused', { n: 2 })]));
    expect(error).toBeInstanceOf(AmqpConnectionRefusedError);
    expect(error.message).toContain('amqp:unauthorized-access: authentication failed (SASL code 1)');
    expect(error.attempts).toEqual([
      expect.objectContaining({ url: shared.url, condition: 'amqp:unauthorized-access' }),
    ]);
    const stats = await moduleRef.get(OutboxAdmin).stats();
    expect(stats.stored.pending).toBe(1);
    expect(stats.sinceStart.failedAttempts).toBe(0);
    const logged = errors.mock.calls.filter(([text]) => String(text).includes('authentication failed'));
    expect(logged).toHaveLength(1);
    await moduleRef.close();
    moduleRef = undefined;
    expect(amqp.state.status).toBe('stopped');
    // rhea re-armed a 60 s heartbeat timer on each refused connection; none is left.
    await waitFor(() => timers() <= timersBefore, 2000, 'the timers of the refused connections to go');
  }, 40_000);

  it('never logs, throws or shows the password of a URL, and uses its credentials', async () => {
    const lines = allLogLines();
    const url = new URL(shared.url);
    url.username = 'guest';
    url.password = 's3cret-fxe-pw';
    const amqp = new AmqpMessenger({
      urls: [url.toString()],
      address: AMQP_ADDRESS.rabbitmq3,
      connectionTimeout: 5,
      reconnectDelayMaxMs: 60_000,
    });
    await amqp.onModuleInit();
    cleanups.push(() => amqp.onApplicationShutdown());
    await waitFor(() => amqp.state.status === 'refused', 10_000, 'the refusal');
    const error = await refusal(amqp.send([createMessage('.redacted', {})]));
    // The URL's password was used (and refused): without it, RabbitMQ would have let guest in anonymously.
    expect(error.message).toContain('authentication failed');
    const shown = `amqp://guest:***@${url.host}`;
    expect(amqp.state.url).toBe(shown);
    expect(error.message).toContain(shown);
    const everything = [...lines(), error.message, JSON.stringify(amqp.state), JSON.stringify(error.attempts)];
    expect(everything.filter((text) => text.includes('s3cret-fxe-pw'))).toEqual([]);
  }, 30_000);

  describe('on the project-owned node', () => {
    let unlock: (() => void) | undefined;
    beforeAll(async () => {
      unlock = await lockProjectNode();
    }, 120_000);
    afterAll(() => {
      unlock?.();
    });

    async function messenger(options: Partial<AmqpMessengerOptions>): Promise<AmqpMessenger> {
      const amqp = new AmqpMessenger({
        urls: [project.url],
        username: project.username,
        password: project.password,
        address: AMQP_ADDRESS.rabbitmq3,
        reconnectDelayMs: 100,
        reconnectDelayMaxMs: 1000,
        ...options,
      });
      await amqp.onModuleInit();
      cleanups.push(() => amqp.onApplicationShutdown());
      return amqp;
    }

    it('reports a user without permission on the virtual host as refused, with the broker description', async () => {
      await projectNodeEval('rabbit_auth_backend_internal:add_user(<<"noperm">>, <<"noperm">>, <<"test">>).');
      cleanups.push(async () => {
        await projectNodeEval('rabbit_auth_backend_internal:delete_user(<<"noperm">>, <<"test">>).');
      });
      const amqp = await messenger({ username: 'noperm', password: 'noperm' });
      const connects = countConnects(amqp);
      // RabbitMQ 3 opens the connection and refuses the first session on it.
      await waitFor(() => amqp.state.status === 'connected', 10_000, 'the connection');
      const first = amqp.send([createMessage('.a', {})]);
      await expect(first).rejects.toThrow(
        expect.objectContaining({
          name: 'AmqpSendError',
          unavailable: expect.stringContaining('amqp:unauthorized-access'),
          failures: [expect.objectContaining({ outcome: 'connection-lost', counted: false })],
        }),
      );
      expect(amqp.state).toMatchObject({ status: 'refused', condition: 'amqp:unauthorized-access' });
      const error = await refusal(amqp.send([createMessage('.a', {})]));
      expect(error).toBeInstanceOf(AmqpConnectionRefusedError);
      expect(error.message).toContain("Access for user 'noperm' was refused: insufficient permissions");
      // Still refused after the next attempt (open, then the session refused): not `connected` in between.
      await waitFor(() => connects.count >= 1 && amqp.connectedTo !== undefined, 5000, 'the connection opened again');
      expect(amqp.state.status).toBe('refused');
    }, 30_000);

    it("connects to the URL's virtual host with the URL's credentials, and delivers there", async () => {
      await projectNodeEval('rabbit_vhost:add(<<"fxe-tenant">>, <<"test">>).');
      cleanups.push(async () => {
        await projectNodeEval('rabbit_vhost:delete(<<"fxe-tenant">>, <<"test">>).');
      });
      await projectNodeEval(
        'rabbit_auth_backend_internal:set_permissions(<<"guest">>, <<"fxe-tenant">>, <<".*">>, <<".*">>, <<".*">>, <<"test">>).',
      );
      const base = new URL(project.url);
      const inVhost = `amqp://${project.username}:${project.password}@${base.host}/fxe-tenant`;
      const connection = await amqplib.connect(inVhost);
      cleanups.push(() => connection.close());
      const channel = await connection.createChannel();
      await channel.assertQueue('fxe-vhost-check', { durable: false });
      await channel.bindQueue('fxe-vhost-check', 'amq.topic', 'fxe.vhost.check');
      const lines = allLogLines();
      const amqp = new AmqpMessenger({ urls: [inVhost], address: AMQP_ADDRESS.rabbitmq3, topicPrefix: 'fxe.vhost' });
      await amqp.onModuleInit();
      cleanups.push(() => amqp.onApplicationShutdown());
      const message = createMessage('.check', { n: 1 });
      await amqp.send([message]);
      let got: false | amqplib.GetMessage = false;
      for (let tries = 0; got === false && tries < 50; tries++) {
        got = await channel.get('fxe-vhost-check', { noAck: true });
        if (got === false) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // RabbitMQ 3 hands the AMQP 1.0 body section to an AMQP 0-9-1 consumer as it is.
      expect(got === false ? 'nothing' : got.content.toString('latin1')).toContain('{"n":1}');
      expect(amqp.state).toMatchObject({ status: 'connected', url: `amqp://guest:***@${base.host}/fxe-tenant` });
      expect(lines().filter((text) => text.includes(`:${project.password}@`))).toEqual([]);
    }, 30_000);

    it('reports a virtual host the broker does not have as refused, logged once, without a second warning from delivery', async () => {
      const lines = allLogLines();
      const amqp = new AmqpMessenger({
        urls: [`${project.url}/no-such-vhost`],
        username: project.username,
        password: project.password,
        address: AMQP_ADDRESS.rabbitmq3,
        reconnectDelayMs: 100,
        reconnectDelayMaxMs: 1000,
      });
      const moduleRef = await Test.createTestingModule({
        imports: [MessagingModule.forRoot({ messenger: amqp, dispatch: { busProbeIntervalMs: 200 } })],
      }).compile();
      cleanups.push(() => moduleRef.close());
      await moduleRef.init();
      const queue = moduleRef.get(MessageQueue);
      await queue.run(() => {
        queue.add('.vhost', { n: 1 });
      });
      await waitFor(() => amqp.state.status === 'refused', 10_000, 'the refusal');
      expect(amqp.state).toMatchObject({ condition: 'amqp:unauthorized-access' });
      // A few attempts of delivery (200 ms probes) and of the messenger (1 s) meanwhile.
      await waitFor(() => lines().filter((text) => text.includes('Still refused')).length >= 1, 5000, 'a retry');
      const stats = await moduleRef.get(OutboxAdmin).stats();
      expect(stats.stored.pending).toBe(1);
      expect(stats.sinceStart.failedAttempts).toBe(0);
      const refusals = jest
        .mocked(Logger.prototype.error)
        .mock.calls.filter(([text]) => String(text).includes('no-such-vhost'));
      expect(refusals).toHaveLength(1);
      expect(String(refusals[0][0])).toContain("Access for user 'guest' was refused");
      const warnings = jest.mocked(Logger.prototype.warn).mock.calls.map(([text]) => String(text));
      expect(warnings.filter((text) => text.includes('unreachable (') || text.includes('Lost the connection'))).toEqual(
        [],
      );
    }, 30_000);

    it('reports a stopped broker as unreachable (reconnecting), not refused, and connects once it is back', async () => {
      const errors = jest.spyOn(Logger.prototype, 'error');
      const amqp = await messenger({});
      await waitFor(() => amqp.state.status === 'connected', 10_000, 'the connection');
      await projectNode('stop');
      try {
        await waitFor(() => amqp.state.status === 'reconnecting', 10_000, 'the loss to be noticed');
        const error = await refusal(amqp.send([createMessage('.a', {})]));
        expect(error).not.toBeInstanceOf(AmqpConnectionRefusedError);
        expect(amqp.state.condition).not.toBe('amqp:unauthorized-access');
      } finally {
        await projectNode('start');
      }
      await waitFor(() => amqp.state.status === 'connected', 20_000, 'the reconnection');
      await amqp.send([createMessage('.a', {})]);
      expect(errors).not.toHaveBeenCalled();
    }, 90_000);
  });
});
