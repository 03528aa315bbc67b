import type { JsonObject, JsonValue } from './message.interface.js';
import { MessageSerializationError } from './messaging.errors.js';

/** A path step: an object key or an array index. Paths are only spelled out on failure. */
type Step = string | number;

/** Where the walk is, kept as arrays so the hot path builds no strings. */
interface Walk {
  readonly topic: string;
  readonly steps: Step[];
  /** Objects on the current path, to tell a cycle from a shared reference. */
  readonly ancestors: object[];
}

/**
 * Returns a deep-frozen copy of `body` that JSON represents exactly, or throws
 * `MessageSerializationError` naming the first value it cannot represent.
 * Copying (rather than freezing the caller's object) is what makes later
 * mutation by the handler harmless.
 *
 * @param fields added to the copy where the body has no such key (a request's enrichment: already
 *   a snapshot), in the same pass: the body is copied once.
 */
export function snapshotBody(topic: string, body: unknown, fields?: Readonly<JsonObject>): Readonly<JsonObject> {
  const walk: Walk = { topic, steps: [], ancestors: [] };
  const top = applyToJson(walk, body);
  const value =
    fields !== undefined && top !== null && typeof top === 'object'
      ? copyObject(walk, top, fields)
      : toJsonValue(walk, top);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MessageSerializationError(topic, 'body', `is ${describe(body)}, expected a JSON object`);
  }
  return value;
}

function toJsonValue(walk: Walk, value: unknown): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) fail(walk, `is ${value}, which JSON writes as null`);
      // -0 is written as 0 by JSON: a stored or sent message would differ from what add() returned.
      return value === 0 ? 0 : value;
    case 'object':
      if (value === null) return null;
      return copyObject(walk, value);
    default:
      return fail(walk, `is ${describe(value)}, which JSON cannot represent`);
  }
}

function copyObject(walk: Walk, value: object, fields?: Readonly<JsonObject>): JsonValue {
  if (walk.ancestors.includes(value)) fail(walk, 'is a circular reference');
  if (Array.isArray(value)) return copyArray(walk, value);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    fail(walk, `is an instance of ${describe(value)} without toJSON()`);
  }
  walk.ancestors.push(value);
  const copy: JsonObject = {};
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    walk.steps.push(key);
    const child = applyToJson(walk, source[key]);
    // JSON omits undefined properties; doing the same keeps optional fields natural.
    if (child !== undefined) setKey(copy, key, toJsonValue(walk, child));
    walk.steps.pop();
  }
  if (fields !== undefined)
    for (const key of Object.keys(fields)) if (!Object.hasOwn(copy, key)) setKey(copy, key, fields[key] ?? null);
  walk.ancestors.pop();
  return Object.freeze(copy);
}

/**
 * `copy[key] = value`, but a `"__proto__"` key (which `JSON.parse()` makes an own key) stays a key:
 * assigned, it would set the copy's prototype (or be ignored), dropping the key from what is sent.
 */
function setKey(copy: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__')
    Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  else copy[key] = value;
}

function copyArray(walk: Walk, value: readonly unknown[]): JsonValue {
  walk.ancestors.push(value);
  const copy: JsonValue[] = new Array<JsonValue>(value.length);
  for (let index = 0; index < value.length; index++) {
    walk.steps.push(index);
    const child = applyToJson(walk, value[index]);
    // JSON turns undefined array items into null: not what the sender meant.
    if (child === undefined) fail(walk, 'is undefined, which JSON writes as null');
    copy[index] = toJsonValue(walk, child);
    walk.steps.pop();
  }
  walk.ancestors.pop();
  return Object.freeze(copy) as JsonValue[];
}

/** Calls `toJSON()` the way JSON.stringify would (Date, Decimal, Luxon, ...). */
function applyToJson(walk: Walk, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && 'toJSON' in value) {
    const toJSON: unknown = value.toJSON;
    if (typeof toJSON === 'function') {
      const converted: unknown = toJSON.call(value);
      if (converted === undefined) fail(walk, 'has a toJSON() that returned undefined');
      return converted;
    }
  }
  return value;
}

/** `body.items[3].size`, or `body["a key"]` where a key is not an identifier. */
function pathOf(steps: readonly Step[]): string {
  let path = 'body';
  for (const step of steps) {
    if (typeof step === 'number') path += `[${step}]`;
    else path += /^[A-Za-z_$][\w$]*$/.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
  }
  return path;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name ? name : 'an object';
  }
  if (typeof value === 'bigint') return `a BigInt (${value}n)`;
  return `a ${typeof value}`;
}

function fail(walk: Walk, reason: string): never {
  throw new MessageSerializationError(walk.topic, pathOf(walk.steps), reason);
}
