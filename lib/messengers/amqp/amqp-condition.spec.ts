import { createMessage } from '../../kernel/message.factory.js';
import { connectionConditionKind, describeBrokerError, linkConditionKind, sizeCulpritIndex } from './amqp-condition.js';

describe('AMQP condition classification', () => {
  it('treats authentication, permission and unknown addresses as configuration errors', () => {
    for (const condition of ['amqp:unauthorized-access', 'amqp:not-found', 'amqp:not-allowed']) {
      expect(connectionConditionKind(condition)).toBe('configuration');
      expect(linkConditionKind(condition)).toBe('configuration');
    }
  });

  it('treats a forced close, a resource limit and a close without an error as transient', () => {
    expect(connectionConditionKind('amqp:connection:forced')).toBe('transient');
    expect(connectionConditionKind(undefined)).toBe('transient');
    expect(linkConditionKind(undefined)).toBe('transient');
    expect(linkConditionKind('amqp:link:detach-forced')).toBe('transient');
    expect(linkConditionKind('amqp:resource-limit-exceeded')).toBe('transient');
  });

  it('leaves link ends over a message, and unknown conditions, to the message', () => {
    expect(linkConditionKind('amqp:link:message-size-exceeded')).toBe('other');
    expect(linkConditionKind('amqp:precondition-failed')).toBe('other');
    expect(linkConditionKind('amqp:internal-error')).toBe('other');
    expect(linkConditionKind('com.example:whatever')).toBe('other');
  });

  it("says what rhea's SASL outcome codes mean", () => {
    expect(describeBrokerError('Failed to authenticate: 1', 'amqp:unauthorized-access')).toBe(
      'authentication failed (SASL code 1): check username and password',
    );
    expect(describeBrokerError('Failed to authenticate: 1', 'amqp:unauthorized-access', 'external')).toMatch(
      /^authentication failed \(SASL code 1\): the broker did not accept the client certificate's user for SASL EXTERNAL/,
    );
    expect(describeBrokerError('Failed to authenticate: 4', 'amqp:internal-error')).toContain('temporary system error');
    expect(describeBrokerError("Access for user 'x' was refused", 'amqp:unauthorized-access')).toBe(
      "Access for user 'x' was refused",
    );
    expect(describeBrokerError(undefined, 'amqp:not-found')).toBe('no description given');
  });
});

describe('sizeCulpritIndex', () => {
  const small = createMessage('.a', { n: 1 });
  const big = createMessage('.a', { n: 2, text: 'x'.repeat(5000) });
  it('blames the first unsettled message over the size the broker names, else the oldest', () => {
    const said = 'PRECONDITION_FAILED - message size 5028 is larger than configured max size 4096';
    expect(sizeCulpritIndex(said, [small, big, small])).toBe(1);
    expect(sizeCulpritIndex(said, [small, small])).toBe(0);
    expect(sizeCulpritIndex('NOT_FOUND - no exchange', [small, big])).toBe(0);
  });
});
