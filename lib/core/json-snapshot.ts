import type { JsonObject, JsonValue } from './message.interface.js';
import { MessageSerializationError } from './messaging.errors.js';

interface Walk {
  readonly topic: string;
  /** Objects on the current path, to tell a cycle from a shared reference. */
  readonly ancestors: Set<object>;
}

/**
 * Returns a deep-frozen copy of `body` that JSON represents exactly, or throws
 * `MessageSerializationError` naming the first value it cannot represent.
 * Copying (rather than freezing the caller's object) is what makes later
 * mutation by the handler harmless.
 */
export function snapshotBody(topic: string, body: unknown): Readonly<JsonObject> {
  const walk: Walk = { topic, ancestors: new Set() };
  const value = toJsonValue(walk, applyToJson(walk, body, 'body'), 'body');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MessageSerializationError(topic, 'body', `is ${describe(body)}, expected a JSON object`);
  }
  return value;
}

function toJsonValue(walk: Walk, value: unknown, path: string): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) fail(walk, path, `is ${value}, which JSON writes as null`);
      return value;
    case 'object':
      if (value === null) return null;
      return copyObject(walk, value, path);
    default:
      return fail(walk, path, `is ${describe(value)}, which JSON cannot represent`);
  }
}

function copyObject(walk: Walk, value: object, path: string): JsonValue {
  if (walk.ancestors.has(value)) fail(walk, path, 'is a circular reference');
  walk.ancestors.add(value);
  try {
    if (Array.isArray(value)) return copyArray(walk, value, path);
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      fail(walk, path, `is an instance of ${describe(value)} without toJSON()`);
    }
    const copy: JsonObject = {};
    for (const [key, raw] of Object.entries(value)) {
      const childPath = `${path}${propertyAccess(key)}`;
      const child = applyToJson(walk, raw, childPath);
      // JSON omits undefined properties; doing the same keeps optional fields natural.
      if (child === undefined) continue;
      copy[key] = toJsonValue(walk, child, childPath);
    }
    return Object.freeze(copy);
  } finally {
    walk.ancestors.delete(value);
  }
}

function copyArray(walk: Walk, value: readonly unknown[], path: string): JsonValue {
  const copy: JsonValue[] = new Array<JsonValue>(value.length);
  for (let index = 0; index < value.length; index++) {
    const childPath = `${path}[${index}]`;
    const child = applyToJson(walk, value[index], childPath);
    // JSON turns undefined array items into null: not what the sender meant.
    if (child === undefined) fail(walk, childPath, 'is undefined, which JSON writes as null');
    copy[index] = toJsonValue(walk, child, childPath);
  }
  return Object.freeze(copy) as JsonValue[];
}

/** Calls `toJSON()` the way JSON.stringify would (Date, Decimal, Luxon, ...). */
function applyToJson(walk: Walk, value: unknown, path: string): unknown {
  if (value !== null && typeof value === 'object' && 'toJSON' in value) {
    const toJSON: unknown = value.toJSON;
    if (typeof toJSON === 'function') {
      const converted: unknown = toJSON.call(value);
      if (converted === undefined) fail(walk, path, 'has a toJSON() that returned undefined');
      return converted;
    }
  }
  return value;
}

function propertyAccess(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
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

function fail(walk: Walk, path: string, reason: string): never {
  throw new MessageSerializationError(walk.topic, path, reason);
}
