import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { createMessage } from 'nestjs-messaging';
import { AmqpMessenger } from 'nestjs-messaging/amqp';
import { type Disposition } from './support/amqp-listener.js';
import { amqpPeerFixtures, sendError } from './support/amqp-peer-fixtures.js';
import { waitFor } from './support/wait-for.js';

// Closes of links, sessions and connections, scripted on an in-process AMQP 1.0 peer; idle links.
Logger.overrideLogger(['error']);

const { listener, messenger } = amqpPeerFixtures();
afterEach(() => {
  jest.restoreAllMocks();
});

/** Messages numbered `n`, on topic `.a`. */
const numbered = (...ns: number[]) => ns.map((n) => createMessage('.a', { n }));
const numberOf = (body: unknown): number => (JSON.parse(body as string) as { n: number }).n;

describe('AmqpMessenger when the broker ends a link, a session or the connection', () => {
  it.each<[string, Disposition]>([
    ['detaches the link without an error', 'detach'],
    ['ends the session without an error', 'end-session-quietly'],
    ['detaches the link with amqp:link:detach-forced', 'detach-forced'],
  ])(
    'when the broker %s over a message in flight, counts no attempt and sends the next messages on a new link',
    async (_, disposition) => {
      const { broker, url } = await listener();
      broker.decide = ({ message }) => (numberOf(message.body) === 2 ? disposition : 'accept');
      const amqp = await messenger({ urls: [url], address: '{topic}' });
      await amqp.send(numbered(1));
      const started = Date.now();
      const error = await sendError(amqp.send(numbered(2)));
      // Noticed at once, not after sendTimeoutMs.
      expect(Date.now() - started).toBeLessThan(1000);
      expect(error.failures).toEqual([expect.objectContaining({ outcome: 'link-detached', counted: false })]);
      expect(error.unavailable).toBeUndefined();
      await waitFor(() => broker.closesAnswered === 1, 2000, 'the messenger to answer the close');
      broker.decide = () => 'accept';
      await amqp.send(numbered(3, 4));
      await amqp.send(numbered(5));
      expect(broker.received.map(({ message }) => numberOf(message.body))).toEqual([1, 2, 3, 4, 5]);
      expect(broker.attaches).toEqual(['.a', '.a']);
      expect(amqp.state.status).toBe('connected');
    },
  );

  it('re-attaches after the broker detached an idle link without an error, instead of sending on it', async () => {
    const { broker, url } = await listener();
    const amqp = await messenger({ urls: [url], address: '{topic}' });
    await amqp.send(numbered(1));
    broker.received[0].delivery.link.close();
    await waitFor(() => broker.closesAnswered === 1, 2000, 'the messenger to answer the detach');
    await amqp.send(numbered(2));
    expect(broker.attaches).toEqual(['.a', '.a']);
    expect(broker.received.map(({ link }) => link)).toEqual([1, 2]);
  });

  it('treats amqp:connection:forced as a lost connection: nothing counted, reconnects, and sends again', async () => {
    const { broker, url } = await listener();
    broker.decide = ({ message }) => (numberOf(message.body) === 2 ? 'close-connection' : 'accept');
    const errors = jest.spyOn(Logger.prototype, 'error');
    const amqp = await messenger({ urls: [url], address: '{topic}', reconnectDelayMs: 50 });
    await amqp.send(numbered(1));
    const error = await sendError(amqp.send(numbered(2)));
    expect(error.failures).toEqual([expect.objectContaining({ outcome: 'connection-lost', counted: false })]);
    expect(error.unavailable).toContain('amqp:connection:forced');
    expect(amqp.state).toMatchObject({ status: 'reconnecting', condition: 'amqp:connection:forced' });
    await waitFor(() => amqp.state.status === 'connected', 3000, 'the messenger to reconnect');
    await amqp.send(numbered(3));
    expect(broker.received.map(({ message }) => numberOf(message.body))).toEqual([1, 2, 3]);
    // A broker restart is not a configuration error.
    expect(errors).not.toHaveBeenCalled();
  });

  it('keeps other topics working while one address is refused, and logs the refusal once at error level', async () => {
    const { broker, url } = await listener();
    broker.unknownAddresses.add('nope');
    const errors = jest.spyOn(Logger.prototype, 'error');
    const amqp = await messenger({ urls: [url], address: '{topic}' });
    for (let round = 0; round < 3; round++) {
      const error = await sendError(amqp.send([createMessage('nope', {}), createMessage('.fine', { round })]));
      expect(error.failures).toEqual([
        expect.objectContaining({ outcome: 'address-refused', condition: 'amqp:not-found', counted: false }),
      ]);
      expect(error.acceptedIds).toHaveLength(1);
    }
    expect(broker.received.filter(({ address }) => address === '.fine')).toHaveLength(3);
    // Not attached again before reconnectDelayMaxMs (default 30 s).
    expect(broker.attaches.filter((address) => address === 'nope')).toHaveLength(1);
    expect(errors).toHaveBeenCalledTimes(1);
    expect(errors.mock.calls[0][0]).toMatch(/refused a link to address nope: amqp:not-found: no such address: nope/);
    expect(amqp.state.status).toBe('connected');
  });
});

describe('AmqpMessenger sender links', () => {
  it('closes links and their sessions after idleLinkTimeoutMs unused, and attaches again when needed', async () => {
    const { broker, url } = await listener();
    const amqp = await messenger({ urls: [url], address: '{topic}', idleLinkTimeoutMs: 200 });
    await amqp.send([createMessage('.a', {}), createMessage('.b', {}), createMessage('.c', {})]);
    expect(amqp.openLinks).toBe(3);
    expect(broker.openSessions).toBe(3);
    await waitFor(() => amqp.openLinks === 0 && broker.openSessions === 0, 2000, 'the idle links to be closed');
    await amqp.send([createMessage('.a', {})]);
    expect(broker.attaches).toEqual(['.a', '.b', '.c', '.a']);
    expect(broker.openSessions).toBe(1);
  });

  it('keeps at most maxLinks open, closing the least recently used idle one', async () => {
    const { broker, url } = await listener();
    const amqp = await messenger({ urls: [url], address: '{topic}', maxLinks: 2 });
    for (const topic of ['.a', '.b', '.c', '.a']) {
      await amqp.send([createMessage(topic, {})]);
      expect(amqp.openLinks).toBeLessThanOrEqual(2);
    }
    await waitFor(() => broker.openSessions === 2, 2000, 'two sessions left open');
    expect(broker.attaches).toEqual(['.a', '.b', '.c', '.a']);
  });

  it('fails messages to a new address as link-limit, not counted, when maxLinks links are busy', async () => {
    const { broker, url } = await listener();
    broker.settleDelayMs = 300;
    const amqp = await messenger({ urls: [url], address: '{topic}', maxLinks: 2 });
    const busy = amqp.send([createMessage('.a', {}), createMessage('.b', {})]);
    const error = await sendError(amqp.send([createMessage('.c', {})]));
    expect(error.failures).toEqual([
      expect.objectContaining({
        outcome: 'link-limit',
        counted: false,
        description: expect.stringContaining('maxLinks'),
      }),
    ]);
    await busy;
    await amqp.send([createMessage('.c', {})]);
    expect(broker.attaches).toEqual(['.a', '.b', '.c']);
  });

  it('refuses invalid idleLinkTimeoutMs and maxLinks at start-up, naming them', () => {
    expect(() => new AmqpMessenger({ urls: ['amqp://broker:5672'], idleLinkTimeoutMs: 0, maxLinks: 1.5 })).toThrow(
      /idleLinkTimeoutMs: expected a whole number > 0, got 0[\s\S]*maxLinks: expected a whole number > 0, got 1.5/,
    );
    expect(() => new AmqpMessenger({ urls: ['amqp://broker:5672'], idleLinkTimeoutMs: 2 ** 31 })).toThrow(
      'idleLinkTimeoutMs: expected at most 2147483647',
    );
  });
});
