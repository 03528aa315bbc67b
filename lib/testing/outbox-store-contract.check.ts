import strict from 'node:assert/strict';
import type { Message } from '../kernel/message.interface.js';
import type { OutboxStore } from '../kernel/outbox-store.interface.js';
import type { OutboxStoreContractSubject } from './outbox-store-contract.interface.js';

// Small helpers the contract's cases share: assertions over node:assert (no test runner needed),
// and opening and closing an outbox around a case.

/** Asserts that `actual` has every field of `expected` (recursively; arrays by length and element). */
export function assertMatches(actual: unknown, expected: unknown, what: string): void {
  assert.deepStrictEqual(project(actual, expected), expected, what);
}

/**
 * `value` rebuilt from plain arrays and objects of this module's realm. A store's arrays and
 * objects may come from another realm (a native driver's rows under a test runner's VM
 * context), which `deepStrictEqual` would tell apart by prototype although nothing differs.
 */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return Array.from(value as unknown[], plain);
  if (typeof value !== 'object' || value === null) return value;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== null && Object.getPrototypeOf(prototype) !== null) return value; // Date, Map, class instances
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = plain(item);
  return copy;
}

/** `node:assert/strict`, with `deepStrictEqual` comparing values whatever realm built them. */
const assert: {
  ok: typeof strict.ok;
  equal: typeof strict.equal;
  deepStrictEqual(actual: unknown, expected: unknown, message?: string): void;
} = {
  ok: strict.ok,
  equal: strict.equal,
  deepStrictEqual(actual: unknown, expected: unknown, message?: string): void {
    strict.deepStrictEqual(plain(actual), plain(expected), message);
  },
};

/** `actual` cut down to the shape of `expected`, for a readable deep comparison. */
function project(actual: unknown, expected: unknown): unknown {
  if (Array.isArray(expected) && Array.isArray(actual))
    return actual.length === expected.length ? actual.map((item, index) => project(item, expected[index])) : actual;
  if (isRecord(expected) && isRecord(actual))
    return Object.fromEntries(Object.keys(expected).map((key) => [key, project(actual[key], expected[key])]));
  return actual;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The ids of entries (or messages), in order. */
export const idsOf = (entries: readonly { readonly message: Message }[]): string[] =>
  entries.map(({ message }) => message.id);

/** The `n` body fields of entries, in order (the cases number their messages). */
export const numbersOf = (entries: readonly { readonly message: Message }[]): unknown[] =>
  entries.map(({ message }) => message.body.n);

/** Runs `body` on a fresh outbox of `subject`, closing it whatever happens. */
export async function withOutbox(
  subject: OutboxStoreContractSubject,
  body: (store: OutboxStore, another: () => Promise<OutboxStore>) => Promise<void>,
): Promise<void> {
  const outbox = await subject.open();
  try {
    const another = (): Promise<OutboxStore> => Promise.resolve(outbox.another?.() ?? outbox.store);
    await body(outbox.store, another);
  } finally {
    await outbox.close();
  }
}

/** Resolves after `ms` milliseconds. */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export { assert };
