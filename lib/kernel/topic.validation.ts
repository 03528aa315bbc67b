import { InvalidTopicError } from './messaging.errors.js';

// Wildcards would make a published topic match subscriptions it was not meant for.
const WILDCARDS = /[*>#]/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

/** Throws `InvalidTopicError` unless `topic` can be published as it is. */
// Topics already found valid: an app publishes a handful of topics, each many times. Bounded, in
// case topics are built from data.
const VALID_TOPICS = new Set<string>();
const MAX_REMEMBERED_TOPICS = 1024;

export function assertValidTopic(topic: unknown): asserts topic is string {
  if (typeof topic === 'string' && VALID_TOPICS.has(topic)) return;
  if (typeof topic !== 'string') {
    throw new InvalidTopicError(String(topic), `expected a string, got ${typeof topic}`);
  }
  if (topic.length === 0) {
    throw new InvalidTopicError(topic, 'it is empty');
  }
  if (WHITESPACE_OR_CONTROL.test(topic)) {
    throw new InvalidTopicError(topic, 'it contains whitespace or a control character');
  }
  const wildcard = WILDCARDS.exec(topic);
  if (wildcard) {
    throw new InvalidTopicError(topic, `it contains the broker wildcard "${wildcard[0]}"`);
  }
  if (VALID_TOPICS.size < MAX_REMEMBERED_TOPICS) VALID_TOPICS.add(topic);
}
