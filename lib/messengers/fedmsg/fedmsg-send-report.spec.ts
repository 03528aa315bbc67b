import { createMessage } from '../../kernel/message.factory.js';
import { MessengerSendError } from '../../kernel/messenger-send.error.js';
import { FedmsgSendReport, isSocketClosedError, isTransientSendError } from './fedmsg-send-report.js';

describe('FedmsgSendReport', () => {
  const a1 = createMessage('.a', { n: 1 });
  const a2 = createMessage('.a', { n: 2 });
  const b1 = createMessage('.b', { n: 1 });
  const a3 = createMessage('.a', { n: 3 });
  const batch = [a1, a2, b1, a3];

  it('names the messages not sent, holds back the later ones of their topic, and accepts the rest', () => {
    const report = new FedmsgSendReport(batch);
    report.fail(a2, 'cannot be encoded', true, false);
    expect(report.holdsBack(b1)).toBe(false);
    expect(report.holdsBack(a3)).toBe(true);
    const error = report.toError();
    expect(error).toBeInstanceOf(MessengerSendError);
    expect(error.acceptedIds).toEqual([a1.id, b1.id]);
    expect(error.failures).toEqual([
      { messageId: a2.id, reason: 'cannot be encoded', counted: true, retryable: false },
      { messageId: a3.id, reason: expect.stringContaining("earlier message on topic '.a'") as string, counted: false },
    ]);
    expect(error.unavailable).toBeUndefined();
    expect(report.failed).toBe(2);
  });

  it('on a closed socket fails the message and every later one, none counted, and says the bus is unavailable', () => {
    const report = new FedmsgSendReport(batch);
    report.stop(1, 'the ZeroMQ socket is closed');
    const error = report.toError();
    expect(error.acceptedIds).toEqual([a1.id]);
    expect(error.failures.map(({ messageId, counted }) => [messageId, counted])).toEqual([
      [a2.id, false],
      [b1.id, false],
      [a3.id, false],
    ]);
    expect(error.unavailable).toBe('the ZeroMQ socket is closed');
    expect(error.message).toContain('did not send 3 of 4 message(s)');
  });

  it('tells a closed socket from a refusal by the zeromq.js error code', () => {
    expect(isSocketClosedError(Object.assign(new Error('Socket is closed'), { code: 'EBADF' }))).toBe(true);
    expect(isSocketClosedError(Object.assign(new Error('Context was terminated'), { code: 'ETERM' }))).toBe(true);
    expect(isSocketClosedError(Object.assign(new Error('Resource temporarily unavailable'), { code: 'EAGAIN' }))).toBe(
      false,
    );
    expect(isSocketClosedError(new Error('no code'))).toBe(false);
    expect(isSocketClosedError(undefined)).toBe(false);
  });

  it('tells a full send queue (retried) from frames the socket refuses for good', () => {
    expect(isTransientSendError(Object.assign(new Error('Resource temporarily unavailable'), { code: 'EAGAIN' }))).toBe(
      true,
    );
    expect(isTransientSendError(Object.assign(new Error('Operation not supported'), { code: 'ENOTSUP' }))).toBe(false);
    expect(isTransientSendError(new Error('no code'))).toBe(false);
  });
});
