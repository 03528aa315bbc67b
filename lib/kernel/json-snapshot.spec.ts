import { snapshotBody } from './json-snapshot.js';
import { MessageSerializationError } from './messaging.errors.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

function failureOf(body: unknown): MessageSerializationError {
  try {
    snapshotBody('.t', body);
  } catch (error) {
    if (error instanceof MessageSerializationError) return error;
    throw error;
  }
  throw new Error('expected snapshotBody to throw');
}

describe('snapshotBody', () => {
  it('copies and deep-freezes a JSON body', () => {
    const original = { a: 1, nested: { list: [1, 'two', true, null], empty: {} } };
    const copy = snapshotBody('.t', original);
    expect(copy).toEqual(original);
    expect(copy).not.toBe(original);
    expect(Object.isFrozen(copy)).toBe(true);
    expect(Object.isFrozen(copy.nested)).toBe(true);
    expect(Object.isFrozen((copy.nested as { list: unknown[] }).list)).toBe(true);
    original.nested.list.push(5);
    expect((copy.nested as { list: unknown[] }).list).toHaveLength(4);
  });

  it('applies toJSON like JSON.stringify and drops undefined properties', () => {
    const date = new Date('2026-11-28T00:00:00.000Z');
    expect(
      snapshotBody('.t', {
        at: date,
        gone: undefined,
        nullProto: Object.assign(Object.create(null) as object, { k: 1 }),
      }),
    ).toEqual({
      at: '2026-11-28T00:00:00.000Z',
      nullProto: { k: 1 },
    });
  });

  it('keeps a shared (non-circular) reference', () => {
    const shared = { id: 1 };
    expect(snapshotBody('.t', { a: shared, b: [shared, shared] })).toEqual({ a: { id: 1 }, b: [{ id: 1 }, { id: 1 }] });
  });

  it('keeps a "__proto__" key as a key (JSON.parse makes one), not as the copy\'s prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"admin": true}, "n": 1, "nested": {"__proto__": 5}}') as object;
    const copy = snapshotBody('.t', parsed);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((copy as { admin?: unknown }).admin).toBeUndefined();
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"admin":true},"n":1,"nested":{"__proto__":5}}');
    expect(Object.isFrozen(copy)).toBe(true);
  });

  it('adds fields where the body has no such own key ("constructor" included), body keys winning', () => {
    const parsed = JSON.parse('{"__proto__": "body", "author": "body"}') as object;
    const copy = snapshotBody('.t', parsed, { author: 'fields', constructor: 'fields', ['__proto__']: 'fields' });
    expect(JSON.stringify(copy)).toBe('{"__proto__":"body","author":"body","constructor":"fields"}');
  });

  it('writes -0 as 0, as JSON does: the copy is what every store and bus gives back', () => {
    const copy = snapshotBody('.t', { n: -0, list: [-0, 1] }) as { n: number; list: number[] };
    expect(Object.is(copy.n, 0)).toBe(true);
    expect(Object.is(copy.list[0], 0)).toBe(true);
  });

  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = { back: circular };

  it.each([
    ['a BigInt', { items: [{}, {}, {}, { size: BigInt(3) }] }, 'body.items[3].size', 'BigInt'],
    ['a function', { callback: () => 1 }, 'body.callback', 'function'],
    ['a symbol', { tag: Symbol('x') }, 'body.tag', 'symbol'],
    ['a circular reference', circular, 'body.self.back', 'circular'],
    ['NaN', { ratio: Number.NaN }, 'body.ratio', 'NaN'],
    ['Infinity', { ratio: Number.POSITIVE_INFINITY }, 'body.ratio', 'Infinity'],
    ['a class instance without toJSON', { point: new Point(1, 2) }, 'body.point', 'Point'],
    ['a Map', { lookup: new Map([[1, 2]]) }, 'body.lookup', 'Map'],
    ['undefined in an array', { list: [1, undefined] }, 'body.list[1]', 'undefined'],
    ['a key that needs quoting', { 'a key': { 'b-c': BigInt(1) } }, 'body["a key"]["b-c"]', 'BigInt'],
    ['undefined at the top level', undefined, 'body', 'undefined'],
    ['an array at the top level', [1, 2], 'body', 'expected a JSON object'],
    ['a string at the top level', 'text', 'body', 'expected a JSON object'],
    ['null at the top level', null, 'body', 'expected a JSON object'],
  ])('refuses %s, naming the path', (_name, body, path, reason) => {
    const error = failureOf(body);
    expect(error.topic).toBe('.t');
    expect(error.path).toBe(path);
    expect(error.message).toContain('".t"');
    expect(error.message).toContain(path);
    expect(error.message).toContain(reason);
  });
});
