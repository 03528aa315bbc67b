import { InvalidTopicError } from './messaging.errors.js';
import { assertValidTopic } from './topic.validation.js';

describe('assertValidTopic', () => {
  it.each(['.compose', '.releases.added', 'eng.pdc.rpms', 'a-b_c/d'])('accepts %s', (topic) => {
    expect(() => {
      assertValidTopic(topic);
    }).not.toThrow();
  });

  it.each([
    ['', 'empty'],
    ['.a b', 'whitespace'],
    ['.a\tb', 'whitespace'],
    ['.a\u0000', 'control'],
    ['.releases.*', 'wildcard "*"'],
    ['.releases.>', 'wildcard ">"'],
    ['.releases.#', 'wildcard "#"'],
  ])('refuses %j (%s)', (topic, reason) => {
    expect(() => {
      assertValidTopic(topic);
    }).toThrow(InvalidTopicError);
    expect(() => {
      assertValidTopic(topic);
    }).toThrow(reason);
    expect(() => {
      assertValidTopic(topic);
    }).toThrow(JSON.stringify(topic));
  });

  it('refuses a non-string', () => {
    expect(() => {
      assertValidTopic(42);
    }).toThrow('expected a string, got number');
  });
});
