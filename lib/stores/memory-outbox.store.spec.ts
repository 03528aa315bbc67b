import { createMessage } from '../kernel/message.factory.js';
import { OutboxWriteError } from '../kernel/outbox.errors.js';
import { MemoryOutboxStore } from './memory-outbox.store.js';

// The behaviour every store shares is in outbox-store.spec.ts.
describe('MemoryOutboxStore bound', () => {
  it('refuses a request that does not fit, whole, with an OutboxWriteError naming ids and topics', async () => {
    const store = new MemoryOutboxStore({ maxMessages: 3 });
    await store.append([createMessage('.a', {}), createMessage('.a', {})]);
    const overflow = [createMessage('.b', {}), createMessage('.c', {})];
    const refusal = store.append(overflow);
    await expect(refusal).rejects.toThrow(OutboxWriteError);
    await expect(refusal).rejects.toThrow(
      `(${overflow[0].id}, ${overflow[1].id}): the memory outbox is full (maxMessages 3)`,
    );
    expect(await store.counts()).toEqual({ pending: 2, delivered: 0, dead: 0 });
  });

  it('rejects a bad bound at construction, naming the option', () => {
    expect(() => new MemoryOutboxStore({ maxMessages: 0 })).toThrow('maxMessages: expected a whole number >= 1, got 0');
  });
});
