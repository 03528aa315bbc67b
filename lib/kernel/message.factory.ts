import { snapshotBody } from './json-snapshot.js';
import type { JsonObject, Message, MessageHeaders } from './message.interface.js';
import { MessageSerializationError, MessagingOptionsError } from './messaging.errors.js';
import { scheduledAt, scheduleMessage } from './message-schedule.js';
import { assertValidTopic } from './topic.validation.js';
import { uuidv7 } from './uuid-v7.js';

/** The longest ordering key `add()` accepts, in UTF-16 code units (JavaScript string length). */
export const MAX_KEY_LENGTH = 256;
/** The longest caller-supplied message id `add()` accepts, in UTF-16 code units. */
export const MAX_ID_LENGTH = 128;

/** What `MessageQueue.add()` accepts besides topic and body. */
export interface AddMessageOptions {
  /** Scalar headers carried beside the body. Default: none. */
  readonly headers?: MessageHeaders;
  /**
   * The ordering key (`Message.key`): messages of one key are delivered in order, one batch at a
   * time; messages of different keys go out in parallel. A non-empty string of at most
   * `MAX_KEY_LENGTH` (256) characters, or `null` for no ordering (the message neither waits for
   * nor holds up any other). Default: the topic.
   */
  readonly key?: string | null;
  /**
   * Delay the message's first attempt by this many ms (a whole number >= 0), counted from
   * `add()`. A delayed message keeps its place in its key: the key's later messages wait for it
   * (unless its key is `null`). Not with `availableAt`. Default: `0` (due at once).
   */
  readonly delay?: number;
  /**
   * The earliest time of the message's first attempt: a `Date`, or ms since the epoch; a time
   * in the past means at once. As `delay`, it holds the key's later messages. Not with `delay`.
   * Default: at once.
   */
  readonly availableAt?: Date | number;
  /**
   * The message id, for idempotent producers (an event id of your own): 1 to `MAX_ID_LENGTH`
   * (128) characters, no whitespace or control characters. A message whose id is already in the
   * outbox (pending, dead, or delivered and retained) is accepted and dropped: the outbox keeps
   * the first. Default: a new UUIDv7 (time-ordered).
   */
  readonly id?: string;
}

/**
 * Creates a validated, immutable `Message`: checks the topic, snapshots the
 * body and headers, assigns the id (default: a new UUIDv7) and the ordering key
 * (default: the topic), and records a delay. Messengers' own tests can use it
 * to build messages without a request.
 *
 * @throws InvalidTopicError when the topic cannot be published.
 * @throws MessageSerializationError when the body is not faithful JSON.
 * @throws MessagingOptionsError naming `key`, `id`, `delay` or `availableAt` when one is invalid.
 */
export function createMessage(topic: string, body: object, options?: AddMessageOptions): Message {
  return createEnrichedMessage(topic, body, options, undefined);
}

/**
 * `createMessage()` with a request's enrichment `fields` added to the body where it has no such
 * key, in the same copy (internal: the request side's path for every message of a request).
 * @throws what `createMessage()` throws.
 */
export function createEnrichedMessage(
  topic: string,
  body: object,
  options: AddMessageOptions | undefined,
  fields: Readonly<JsonObject> | undefined,
): Message {
  assertValidTopic(topic);
  const timestamp = Date.now();
  // No options (most messages): nothing to check, no schedule.
  if (options === undefined) {
    return Object.freeze({
      id: uuidv7(timestamp),
      topic,
      key: topic,
      body: snapshotBody(topic, body, fields),
      headers: EMPTY_HEADERS,
      timestamp,
    });
  }
  const issues: string[] = [];
  const key = keyOf(topic, options.key, issues);
  const id = idOf(options.id, issues);
  const due = dueOf(options, timestamp, issues);
  if (issues.length > 0) throw new MessagingOptionsError(issues, `options of the message on topic "${topic}"`);
  const message: Message = Object.freeze({
    id: id ?? uuidv7(timestamp),
    topic,
    key,
    body: snapshotBody(topic, body, fields),
    headers: snapshotHeaders(topic, options.headers),
    timestamp,
  });
  if (due !== undefined) scheduleMessage(message, due);
  return message;
}

/**
 * Returns a message whose headers also have `headers`; headers already on the
 * message win. Used to attach a trace context (`traceparent`) to a message.
 */
export function withHeaders(message: Message, headers: MessageHeaders): Message {
  const merged: Record<string, string | number | boolean> = {};
  for (const key of Object.keys(headers)) merged[key] = headers[key];
  for (const key of Object.keys(message.headers)) merged[key] = message.headers[key];
  const traced: Message = Object.freeze({
    id: message.id,
    topic: message.topic,
    key: message.key,
    body: message.body,
    headers: Object.freeze(merged),
    timestamp: message.timestamp,
  });
  const due = scheduledAt(message);
  if (due !== undefined) scheduleMessage(traced, due);
  return traced;
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

/** Options often come from plain JavaScript: say what was given. */
function given(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? JSON.stringify(value) : typeof value;
}

function keyOf(topic: string, key: unknown, issues: string[]): string | null {
  if (key === undefined) return topic;
  if (key === null) return null;
  if (typeof key === 'string' && key !== '' && key.length <= MAX_KEY_LENGTH) return key;
  issues.push(
    typeof key === 'string' && key.length > MAX_KEY_LENGTH
      ? `key: expected at most ${String(MAX_KEY_LENGTH)} characters, got ${String(key.length)}`
      : `key: expected a non-empty string or null, got ${given(key)}`,
  );
  return null;
}

function idOf(id: unknown, issues: string[]): string | undefined {
  if (id === undefined) return undefined;
  if (typeof id === 'string' && id !== '' && id.length <= MAX_ID_LENGTH && !WHITESPACE_OR_CONTROL.test(id)) return id;
  issues.push(
    `id: expected 1 to ${String(MAX_ID_LENGTH)} characters without whitespace or control characters, got ${
      typeof id === 'string' && id.length > MAX_ID_LENGTH ? `${String(id.length)} characters` : given(id)
    }`,
  );
  return undefined;
}

/** The first due time in ms since the epoch, or `undefined` when due at once. */
function dueOf(options: AddMessageOptions, now: number, issues: string[]): number | undefined {
  const { delay, availableAt } = options as { delay?: unknown; availableAt?: unknown };
  if (delay !== undefined && availableAt !== undefined) {
    issues.push('delay, availableAt: give one of them, not both');
    return undefined;
  }
  if (delay !== undefined) {
    if (typeof delay === 'number' && Number.isSafeInteger(delay) && delay >= 0)
      return delay === 0 ? undefined : now + delay;
    issues.push(`delay: expected a whole number of ms >= 0, got ${given(delay)}`);
    return undefined;
  }
  if (availableAt === undefined) return undefined;
  const at = availableAt instanceof Date ? availableAt.getTime() : availableAt;
  if (typeof at === 'number' && Number.isFinite(at) && at >= 0) return at > now ? Math.floor(at) : undefined;
  issues.push(
    `availableAt: expected a valid Date or ms since the epoch (>= 0), got ${availableAt instanceof Date ? 'an invalid Date' : given(availableAt)}`,
  );
  return undefined;
}

/** The headers of every message added without any: one shared frozen empty object (internal). */
export const EMPTY_HEADERS: MessageHeaders = Object.freeze({});

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
    // A "__proto__" name (JSON.parse makes one) stays a header: assigned, it would be dropped.
    if (name === '__proto__')
      Object.defineProperty(copy, name, { value, enumerable: true, writable: true, configurable: true });
    else copy[name] = value;
  }
  return Object.freeze(copy);
}
