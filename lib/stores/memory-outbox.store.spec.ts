import { createMessage } from '../kernel/message.factory.js';
import { OutboxFullError, OutboxWriteError } from '../kernel/outbox.errors.js';
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

  it('appendNow() refuses synchronously with an OutboxFullError (HTTP 503 for Nest) and keeps none of them', async () => {
    const store = new MemoryOutboxStore({ maxMessages: 2 });
    store.appendNow([createMessage('.a', {})]);
    const overflow = [createMessage('.b', {}), createMessage('.b', {})];
    let refusal: unknown;
    try {
      store.appendNow(overflow);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(OutboxFullError);
    expect(refusal).toBeInstanceOf(OutboxWriteError);
    expect(refusal).toMatchObject({ statusCode: 503, status: 503, expose: false, maxMessages: 2, topics: ['.b'] });
    expect(await store.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
  });

  it('rejects a bad bound at construction, naming the option', () => {
    expect(() => new MemoryOutboxStore({ maxMessages: 0 })).toThrow('maxMessages: expected a whole number >= 1, got 0');
  });
});
