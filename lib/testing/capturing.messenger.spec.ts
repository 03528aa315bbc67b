import { createMessage } from '../kernel/message.factory.js';
import { CapturingMessenger } from './capturing.messenger.js';

describe('CapturingMessenger', () => {
  it('records batches, messages, topics and bodies; clear() forgets them', async () => {
    const capture = new CapturingMessenger();
    await capture.send([createMessage('.a', { n: 1 }), createMessage('.b', { n: 2 })]);
    await capture.send([createMessage('.a', { n: 3 })]);
    expect(capture.batches).toHaveLength(2);
    expect(capture.topics).toEqual(['.a', '.b', '.a']);
    expect(capture.bodiesOf('.a')).toEqual([{ n: 1 }, { n: 3 }]);
    capture.clear();
    expect(capture.messages).toEqual([]);
  });

  it('fails sends on request', async () => {
    const capture = new CapturingMessenger();
    capture.failWith(new Error('down'));
    await expect(capture.send([createMessage('.a', {})])).rejects.toThrow('down');
    capture.failWith(undefined);
    await expect(capture.send([createMessage('.a', {})])).resolves.toBeUndefined();
  });

  it('waits for messages delivered later, and times out with a count', async () => {
    const capture = new CapturingMessenger();
    setTimeout(() => void capture.send([createMessage('.a', {}), createMessage('.b', {})]), 5);
    await expect(capture.waitForMessages(2)).resolves.toHaveLength(2);
    await expect(capture.waitForMessages(3, 20)).rejects.toThrow('Expected 3 message(s) within 20 ms, received 2');
  });
});
