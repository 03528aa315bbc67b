import { randomUUID } from 'node:crypto';
import { snapshotBody } from './json-snapshot.js';
import type { JsonObject, Message, MessageHeaders } from './message.interface.js';
import { MessageSerializationError, MessagingOptionsError } from './messaging.errors.js';
import { assertValidTopic } from './topic.validation.js';

/** What `MessageQueue.add()` accepts besides topic and body. */
export interface AddMessageOptions {
  /** Scalar headers carried beside the body. Default: none. */
  readonly headers?: MessageHeaders;
  /**
   * The ordering key (`Message.key`): a non-empty string, or `null` for no ordering.
   * Default: the topic.
   */
  readonly key?: string | null;
}

/**
 * Creates a validated, immutable `Message`: checks the topic, snapshots the
 * body and headers, assigns a new UUID and the ordering key (default: the
 * topic). Messengers' own tests can use it to build messages without a request.
 *
 * @throws InvalidTopicError when the topic cannot be published.
 * @throws MessageSerializationError when the body is not faithful JSON.
 * @throws MessagingOptionsError when `options.key` is neither a non-empty string nor `null`.
 */
export function createMessage(topic: string, body: object, options: AddMessageOptions = {}): Message {
  assertValidTopic(topic);
  return Object.freeze({
    id: randomUUID(),
    topic,
    key: keyOf(topic, options.key),
    body: snapshotBody(topic, body),
    headers: snapshotHeaders(topic, options.headers),
    timestamp: Date.now(),
  });
}

/** Returns a message whose body also has `fields`; keys already in the body win. */
export function withBodyFields(message: Message, fields: Readonly<JsonObject>): Message {
  const body: JsonObject = {};
  const original = message.body;
  for (const key of Object.keys(original)) body[key] = original[key];
  for (const key of Object.keys(fields)) if (!(key in original)) body[key] = fields[key];
  // Spelled out rather than spread: this runs for every message of every request.
  return Object.freeze({
    id: message.id,
    topic: message.topic,
    key: message.key,
    body: Object.freeze(body),
    headers: message.headers,
    timestamp: message.timestamp,
  });
}

function keyOf(topic: string, key: unknown): string | null {
  if (key === undefined) return topic;
  if (key === null || (typeof key === 'string' && key !== '')) return key;
  // Options often come from plain JavaScript: say what was given.
  const given = typeof key === 'string' || typeof key === 'number' ? JSON.stringify(key) : typeof key;
  throw new MessagingOptionsError(
    [`key: expected a non-empty string or null, got ${given}`],
    `options of the message on topic "${topic}"`,
  );
}

const EMPTY_HEADERS: MessageHeaders = Object.freeze({});

function snapshotHeaders(topic: string, headers: MessageHeaders | undefined): MessageHeaders {
  if (headers === undefined) return EMPTY_HEADERS;
  const copy: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(headers)) {
    const type = typeof value;
    if (type !== 'string' && type !== 'boolean' && !(type === 'number' && Number.isFinite(value))) {
      throw new MessageSerializationError(
        topic,
        `headers[${JSON.stringify(name)}]`,
        `is ${String(value)}, but headers must be strings, finite numbers or booleans`,
      );
    }
    copy[name] = value;
  }
  return Object.freeze(copy);
}
