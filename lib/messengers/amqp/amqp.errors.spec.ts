import { MessengerSendError } from '../../kernel/messenger-send.error.js';
import { AmqpSendError, type AmqpOutcome, type AmqpRefusal } from './amqp.errors.js';

const refusal = (messageId: string, outcome: AmqpOutcome, condition?: string): AmqpRefusal => ({
  messageId,
  topic: '.a',
  address: 'topic://.a',
  outcome,
  condition,
  description: `${outcome} happened`,
});

describe('AmqpSendError', () => {
  it("is a MessengerSendError that counts what was the message's fault and not what was not", () => {
    const error = new AmqpSendError(
      'amqp://broker:5672',
      [
        refusal('1', 'rejected', 'amqp:precondition-failed'),
        refusal('2', 'released'),
        refusal('3', 'modified'),
        refusal('4', 'timeout'),
        refusal('5', 'link-refused', 'amqp:not-found'),
        refusal('6', 'link-detached'),
        refusal('7', 'link-limit'),
      ],
      ['0'],
    );
    expect(error).toBeInstanceOf(MessengerSendError);
    expect(error.name).toBe('AmqpSendError');
    expect(error.acceptedIds).toEqual(['0']);
    expect(error.failures.map(({ messageId, counted }) => [messageId, counted])).toEqual([
      ['1', true],
      ['2', true],
      ['3', true],
      ['4', true],
      ['5', true],
      ['6', false],
      ['7', false],
    ]);
    expect(error.failures[0].reason).toBe('rejected amqp:precondition-failed: rejected happened');
    expect(error.failures[1].reason).toBe('released: released happened');
    expect(error.unavailable).toBeUndefined();
    expect(error.message).toBe(
      'AMQP broker amqp://broker:5672 did not accept message 1 on topic ".a" (address topic://.a): ' +
        'rejected amqp:precondition-failed: rejected happened (and 6 more)',
    );
  });

  it('marks the bus unavailable, and counts nothing, when the connection was lost', () => {
    const error = new AmqpSendError(
      'amqp://broker:5672',
      [refusal('1', 'connection-lost'), refusal('2', 'connection-lost')],
      [],
    );
    expect(error.unavailable).toBe('connection-lost happened');
    expect(error.failures.every(({ counted }) => !counted)).toBe(true);
  });

  it('marks refusals that cannot pass on a later try not retryable: permanent conditions, a refused address', () => {
    const error = new AmqpSendError(
      'amqp://broker:5672',
      [
        refusal('1', 'rejected', 'amqp:decode-error'),
        refusal('2', 'link-refused', 'amqp:precondition-failed'),
        refusal('3', 'rejected', 'amqp:link:message-size-exceeded'),
        refusal('4', 'address-refused', 'amqp:not-found'),
        refusal('5', 'rejected', 'amqp:resource-limit-exceeded'),
        refusal('6', 'rejected'),
        refusal('7', 'link-refused', 'amqp:internal-error'),
        refusal('8', 'link-detached', 'amqp:precondition-failed'),
        refusal('9', 'released'),
      ],
      [],
    );
    expect(error.failures.map(({ messageId, retryable }) => [messageId, retryable])).toEqual([
      ['1', false],
      ['2', false],
      ['3', false],
      ['4', false],
      ['5', undefined],
      ['6', undefined],
      ['7', undefined],
      ['8', undefined],
      ['9', undefined],
    ]);
  });
});
