import { createMessage } from './message.factory.js';
import { MessagingOptionsError } from './messaging.errors.js';

describe('createMessage ordering key', () => {
  it('defaults to the topic, keeps a given key or null, and refuses anything else naming the option', () => {
    expect(createMessage('.a', {}).key).toBe('.a');
    expect(createMessage('.a', {}, { key: 'k' }).key).toBe('k');
    expect(createMessage('.a', {}, { key: null }).key).toBeNull();
    expect(() => createMessage('.a', {}, { key: '' })).toThrow(MessagingOptionsError);
    expect(() => createMessage('.a', {}, { key: 7 as unknown as string })).toThrow(
      'key: expected a non-empty string or null, got 7',
    );
  });
});
