import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createMessage, MessageQueue, MessagingModule, OutboxAdmin } from 'nestjs-messaging';
import { AmqpMessenger } from 'nestjs-messaging/amqp';
import { amqpPeerFixtures, sendError } from './support/amqp-peer-fixtures.js';
import { waitFor } from './support/wait-for.js';

// An address the broker refuses on attach (amqp:not-found), on an in-process AMQP 1.0 peer: not worth
// retrying (issue 17: dead at once with the broker's reason); the link is attached again later.
Logger.overrideLogger(['error']);

const { listener, onCleanup } = amqpPeerFixtures();
afterEach(() => {
  jest.restoreAllMocks();
});

describe('AmqpMessenger and an address the broker refuses', () => {
  it("declares its messages dead at once with the broker's reason (rejected), logs once at error level, shows it in state, and lets other topics flow", async () => {
    const { broker, url } = await listener();
    broker.unknownAddresses.add('.bad');
    const errors = jest.spyOn(Logger.prototype, 'error');
    const warnings = jest.spyOn(Logger.prototype, 'warn');
    const messenger = new AmqpMessenger({ urls: [url], address: '{topic}', reconnectDelayMs: 100 });
    const moduleRef = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({
          messenger,
          // A retry schedule and attempts that would keep them pending for minutes, were they retried.
          dispatch: { retry: { initialDelayMs: 60_000, maxAttempts: 20 } },
        }),
      ],
    }).compile();
    onCleanup(() => moduleRef.close());
    await moduleRef.init();
    const queue = moduleRef.get(MessageQueue);
    const admin = moduleRef.get(OutboxAdmin);
    for (let round = 0; round < 3; round++) {
      await queue.run(() => {
        queue.add('.good', { round });
        queue.add('.bad', { round });
      });
    }
    await waitFor(() => broker.received.filter(({ address }) => address === '.good').length === 3, 5000, '.good');
    await waitFor(() => messenger.state.refusedAddresses.length === 1, 5000, 'the refusal in state');
    let counts = { delivered: 0, dead: 0 };
    const counting = setInterval(() => {
      void admin.stats().then(({ sinceStart }) => (counts = sinceStart));
    }, 10);
    await waitFor(() => counts.delivered === 3 && counts.dead === 3, 5000, '.good delivered and .bad dead').finally(
      () => {
        clearInterval(counting);
      },
    );
    const dead = await admin.list({ status: 'dead' });
    expect(dead.map(({ message }) => message.topic)).toEqual(['.bad', '.bad', '.bad']);
    expect(dead.every(({ attempts, deadReason }) => attempts === 1 && deadReason === 'rejected')).toBe(true);
    expect(dead[0].lastError).toBe('address-refused amqp:not-found: no such address: .bad');
    expect(await admin.list({ status: 'pending' })).toEqual([]);
    expect(broker.attaches.filter((address) => address === '.bad')).toHaveLength(1);
    expect(messenger.state).toMatchObject({
      status: 'connected',
      refusedAddresses: [{ address: '.bad', condition: 'amqp:not-found', description: 'no such address: .bad' }],
    });
    const refusals = errors.mock.calls.filter(([text]) => String(text).includes('address .bad'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0][0]).toMatch(/refused a link to address \.bad: amqp:not-found: no such address: \.bad/);
    const gaveUp = errors.mock.calls.filter(([text]) => String(text).startsWith('Gave up on'));
    expect(gaveUp.map(([text]) => String(text)).join('\n')).toMatch(
      /rejected: not worth retrying.*address-refused amqp:not-found: no such address: \.bad/,
    );
    expect(warnings.mock.calls.filter(([text]) => String(text).includes('.bad'))).toEqual([]);
  });

  it('attaches the address again after reconnectDelayMaxMs, not before, and clears it from state once accepted', async () => {
    const { broker, url } = await listener();
    broker.unknownAddresses.add('.late');
    const logs = jest.spyOn(Logger.prototype, 'log');
    const amqp = new AmqpMessenger({ urls: [url], address: '{topic}', reconnectDelayMaxMs: 800, sendTimeoutMs: 2000 });
    await amqp.onModuleInit();
    onCleanup(() => amqp.onApplicationShutdown());
    const refusedAt = Date.now();
    const first = await sendError(amqp.send([createMessage('.late', { n: 1 })]));
    expect(first.failures).toEqual([
      expect.objectContaining({ outcome: 'address-refused', counted: false, condition: 'amqp:not-found' }),
    ]);
    const retryAt = first.failures[0].retryAt ?? 0;
    expect(retryAt).toBeGreaterThanOrEqual(refusedAt + 800);
    // Before retryAt: fails at once, without a new attach.
    const again = await sendError(amqp.send([createMessage('.late', { n: 2 })]));
    expect(again.failures[0]).toMatchObject({ outcome: 'address-refused', retryAt });
    expect(broker.attaches).toEqual(['.late']);
    broker.unknownAddresses.delete('.late');
    await waitFor(() => Date.now() >= retryAt, 2000, 'retryAt');
    await amqp.send([createMessage('.late', { n: 3 })]);
    expect(broker.attaches).toEqual(['.late', '.late']);
    expect(amqp.state.refusedAddresses).toEqual([]);
    expect(logs.mock.calls.some(([text]) => String(text).includes('accepts address .late again'))).toBe(true);
  });

  it('counts a message the broker rejects (a disposition), as before', async () => {
    const { broker, url } = await listener();
    broker.decide = () => 'reject';
    const amqp = new AmqpMessenger({ urls: [url], address: '{topic}', sendTimeoutMs: 2000 });
    await amqp.onModuleInit();
    onCleanup(() => amqp.onApplicationShutdown());
    const error = await sendError(amqp.send([createMessage('.t', {})]));
    expect(error.failures).toEqual([expect.objectContaining({ outcome: 'rejected', counted: true })]);
    expect(amqp.state.refusedAddresses).toEqual([]);
  });
});
