import type { ExecutionContext } from '@nestjs/common';
import { createMessage } from '../kernel/message.factory.js';
import { MessageLimitError, MessagingContextClosedError } from '../kernel/messaging.errors.js';
import { MessageBatch } from './message-batch.js';

const request = {} as ExecutionContext;

describe('MessageBatch', () => {
  it('holds up to its limit, then refuses with MessageLimitError naming maxMessagesPerRequest', () => {
    const batch = new MessageBatch(2, request);
    batch.add(createMessage('.a', {}));
    batch.add(createMessage('.b', {}));
    expect(() => {
      batch.add(createMessage('.c', {}));
    }).toThrow(MessageLimitError);
    expect(() => {
      batch.add(createMessage('.c', {}));
    }).toThrow(
      'Cannot add a message on topic ".c": this request already holds 2 messages, the limit set by the MessagingModule option maxMessagesPerRequest',
    );
    expect(batch.take().map(({ topic }) => topic)).toEqual(['.a', '.b']);
  });

  it('refuses every add once taken or dropped, saying which', () => {
    const sent = new MessageBatch(10, request);
    sent.take();
    expect(() => {
      sent.add(createMessage('.late', {}));
    }).toThrow(MessagingContextClosedError);
    expect(() => {
      sent.add(createMessage('.late', {}));
    }).toThrow('its request already completed and its messages went to the outbox');
    const failed = new MessageBatch(10);
    failed.drop();
    expect(() => {
      failed.add(createMessage('.late', {}));
    }).toThrow('its MessageQueue.run() already failed');
  });
});
