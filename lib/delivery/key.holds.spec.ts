import { createMessage } from '../kernel/message.factory.js';
import type { FailedAttempt, OutboxEntry } from '../kernel/outbox-store.interface.js';
import { holdsKeyOnFailure, markKeyHolds } from './key.holds.js';

const entry = (key: string | null): OutboxEntry => ({
  message: createMessage('.t', {}, { key }),
  status: 'pending',
  attempts: 0,
  createdAt: 0,
  nextAttemptAt: 0,
  history: [],
});

describe('key holds', () => {
  it('marks failures kept for a retry whose key holds, and reports those keys', () => {
    const entries = [entry('a'), entry('b'), entry(null), entry('a')];
    const byId = new Map(entries.map((e) => [e.message.id, e]));
    const failures: FailedAttempt[] = entries.map(({ message }, i) => ({
      id: message.id,
      error: 'refused',
      counted: true,
      nextAttemptAt: i === 3 ? undefined : 10,
    }));
    const backInLine = new Set<string>();
    const marked = markKeyHolds(
      { onFailure: (key) => (key === 'a' ? 'hold' : 'step-aside') },
      failures,
      byId,
      backInLine,
    );
    // a holds; b steps aside; no key never holds; a dead message holds nothing.
    expect(marked.map(({ holdsKey }) => holdsKey)).toEqual([true, undefined, undefined, undefined]);
    expect([...backInLine]).toEqual(['a']);
  });

  it('counts a throwing or wrong choice as step-aside', () => {
    expect(holdsKeyOnFailure({ onFailure: 'hold' }, 'k')).toBe(true);
    expect(
      holdsKeyOnFailure(
        {
          onFailure: () => {
            throw new Error('no');
          },
        },
        'k',
      ),
    ).toBe(false);
    expect(holdsKeyOnFailure({ onFailure: () => 'wait' as 'hold' }, 'k')).toBe(false);
  });
});
