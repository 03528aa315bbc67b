import { createMessage, MAX_ID_LENGTH, MAX_KEY_LENGTH } from './message.factory.js';
import { appendOptionsOf, scheduledAt } from './message-schedule.js';
import { uuidv7Time } from './uuid-v7.js';

const issuesOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    return (error as { issues?: string[] }).issues ?? [String(error)];
  }
  return [];
};

describe('createMessage options', () => {
  it('defaults the key to the topic, the id to a UUIDv7 of the message time, and no delay', () => {
    const message = createMessage('.a', {});
    expect(message.key).toBe('.a');
    expect(uuidv7Time(message.id)).toBe(message.timestamp);
    expect(scheduledAt(message)).toBeUndefined();
    expect(appendOptionsOf([message])).toBeUndefined();
  });

  it('takes a key or null, a caller id, and a delay or a due time', () => {
    const keyed = createMessage('.a', {}, { key: 'account:1', id: 'evt-1', delay: 1000 });
    expect([keyed.key, keyed.id]).toEqual(['account:1', 'evt-1']);
    expect(scheduledAt(keyed)).toBe(keyed.timestamp + 1000);
    const at = new Date(Date.now() + 60_000);
    const unkeyed = createMessage('.a', {}, { key: null, availableAt: at });
    expect(unkeyed.key).toBeNull();
    expect(appendOptionsOf([keyed, unkeyed])?.availableAt).toEqual(
      new Map([
        ['evt-1', keyed.timestamp + 1000],
        [unkeyed.id, at.getTime()],
      ]),
    );
    // A due time already past is at once.
    expect(scheduledAt(createMessage('.a', {}, { availableAt: 0 }))).toBeUndefined();
  });

  it('keeps a "__proto__" header (JSON.parse makes one) as a header', () => {
    const headers = JSON.parse('{"__proto__": "x", "n": 1}') as Record<string, string | number>;
    const message = createMessage('.t', {}, { headers });
    expect(JSON.stringify(message.headers)).toBe('{"__proto__":"x","n":1}');
    expect(Object.getPrototypeOf(message.headers)).toBe(Object.prototype);
  });

  it('refuses bad options, naming each', () => {
    expect(
      issuesOf(() =>
        createMessage('.a', {}, { key: 'k'.repeat(MAX_KEY_LENGTH + 1), id: 'x'.repeat(MAX_ID_LENGTH + 1), delay: -1 }),
      ),
    ).toEqual([
      `key: expected at most ${String(MAX_KEY_LENGTH)} characters, got ${String(MAX_KEY_LENGTH + 1)}`,
      `id: expected 1 to ${String(MAX_ID_LENGTH)} characters without whitespace or control characters, got ${String(MAX_ID_LENGTH + 1)} characters`,
      'delay: expected a whole number of ms >= 0, got -1',
    ]);
    expect(issuesOf(() => createMessage('.a', {}, { delay: 1, availableAt: 1 }))).toEqual([
      'delay, availableAt: give one of them, not both',
    ]);
    expect(issuesOf(() => createMessage('.a', {}, { availableAt: new Date(Number.NaN) }))).toEqual([
      'availableAt: expected a valid Date or ms since the epoch (>= 0), got an invalid Date',
    ]);
    expect(issuesOf(() => createMessage('.a', {}, { key: '', id: '' }))).toEqual([
      'key: expected a non-empty string or null, got ""',
      'id: expected 1 to 128 characters without whitespace or control characters, got ""',
    ]);
  });
});
