import { createMessage } from '../../kernel/message.factory.js';
import { fedoraMessagingFailure } from './fedora-messaging.failure.js';

const message = createMessage('.a.b', {});
const TOPIC_403 = `403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - access to topic 'org.a.b' in exchange 'amq.topic' in vhost 'v' refused for user 'u'"`;
const EXCHANGE_403 = `403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - access to exchange 'amq.topic' in vhost 'v' refused for user 'u'"`;
const NO_EXCHANGE = `404 (NOT-FOUND) with message "NOT_FOUND - no exchange 'x' in vhost '/'"`;

describe('fedoraMessagingFailure', () => {
  it('keeps the outcome, the reply and counted, and says why in reason', () => {
    expect(fedoraMessagingFailure(message, 'org.a.b', 'nack', 'the broker nacked it', true)).toEqual({
      messageId: message.id,
      topic: '.a.b',
      routingKey: 'org.a.b',
      outcome: 'nack',
      reply: 'the broker nacked it',
      reason: 'nack (routing key org.a.b): the broker nacked it',
      counted: true,
    });
  });

  it.each([
    ['invalid', 'its header name hhh is over 255 bytes', true],
    ['returned', 'unroutable: 312 NO_ROUTE', true],
    ['channel-closed', TOPIC_403, true],
    ['channel-closed', EXCHANGE_403, false],
    ['channel-closed', NO_EXCHANGE, false],
  ] as const)('is not retryable: %s %s', (outcome, reply, counted) => {
    expect(fedoraMessagingFailure(message, 'org.a.b', outcome, reply, counted)).toMatchObject({
      retryable: false,
      counted,
    });
  });

  it('is not retryable, and counts, when the broker closed the channel over its size; the others of the channel stay retryable', () => {
    const big = createMessage('.a.b', { pad: 'x'.repeat(4990) });
    const size = Buffer.byteLength(JSON.stringify(big.body));
    const reply = `406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - message size ${size} is larger than configured max size 4096"`;
    expect(fedoraMessagingFailure(big, 'org.a.b', 'channel-closed', reply, false)).toMatchObject({
      counted: true,
      retryable: false,
    });
    const other = fedoraMessagingFailure(message, 'org.a.b', 'channel-closed', reply, false);
    expect(other.counted).toBe(false);
    expect(other).not.toHaveProperty('retryable');
  });

  it.each([
    ['nack', 'the broker nacked it', true],
    ['timeout', 'no confirm within 5000 ms', true],
    ['connection-lost', 'the connection to amqp://h was lost (socket closed)', false],
    // Caught up in another message's refusal: that one is refused, this one may well go through.
    ['channel-closed', TOPIC_403.replace('org.a.b', 'org.other'), false],
    ['channel-closed', 'closed after a publish failed: boom', false],
    ['channel-closed', 'the channel was closed', false],
  ] as const)('stays retryable: %s %s', (outcome, reply, counted) => {
    expect(fedoraMessagingFailure(message, 'org.a.b', outcome, reply, counted)).not.toHaveProperty('retryable');
  });
});
