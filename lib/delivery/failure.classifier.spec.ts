import { jest } from '@jest/globals';
import { createMessage } from '../kernel/message.factory.js';
import type { Message } from '../kernel/message.interface.js';
import type { OutboxEntry } from '../kernel/outbox-entry.interface.js';
import type { RetryOptions } from './dispatch-options.interface.js';
import { resolveDispatchConfig } from './dispatch-options.validation.js';
import { FailureClassifier } from './failure.classifier.js';
import type { UnsentMessage } from './send-outcome.js';

const NOW = 1_800_000_000_000;
const noJitter = (): number => 0;

function entryOf(message: Message, attempts: number, createdAt = NOW - 1000): OutboxEntry {
  return { message, status: 'pending', attempts, createdAt, nextAttemptAt: createdAt, history: [] };
}

function classifier(retry: RetryOptions, error: unknown = new Error('refused')): FailureClassifier {
  return new FailureClassifier(resolveDispatchConfig({ retry }).retry, error, NOW, noJitter);
}

const message = createMessage('.orders', { n: 1 });
const counted = (extra: Partial<UnsentMessage> = {}): UnsentMessage => ({
  message,
  reason: 'refused',
  counted: true,
  ...extra,
});

describe('FailureClassifier', () => {
  it('retries a counted failure on the built-in schedule, no sooner than the messenger says', () => {
    expect(classifier({}).classify(counted(), entryOf(message, 2))).toEqual({
      kind: 'retry',
      attempt: 3,
      nextAttemptAt: NOW + 4000,
    });
    expect(classifier({}).classify(counted({ retryAt: NOW + 9000 }), entryOf(message, 0))).toEqual({
      kind: 'retry',
      attempt: 1,
      nextAttemptAt: NOW + 9000,
    });
  });

  it('gives up with reason exhausted after maxAttempts and expired after maxAgeMs', () => {
    expect(classifier({ maxAttempts: 3 }).classify(counted(), entryOf(message, 2))).toEqual({
      kind: 'dead',
      attempt: 3,
      reason: 'exhausted',
    });
    expect(classifier({ maxAgeMs: 1000 }).classify(counted(), entryOf(message, 0, NOW - 1000))).toEqual({
      kind: 'dead',
      attempt: 1,
      reason: 'expired',
    });
  });

  it('declares a failure the messenger marked non-retryable dead at once (rejected), without asking retryIf', () => {
    const retryIf = jest.fn(() => true);
    expect(
      classifier({ retryIf }).classify(counted({ counted: false, retryable: false }), entryOf(message, 0)),
    ).toEqual({ kind: 'dead', attempt: 1, reason: 'rejected' });
    expect(retryIf).not.toHaveBeenCalled();
  });

  it('never classifies an uncounted failure (the bus unreachable): back in line, attempts unchanged', () => {
    const retryIf = jest.fn(() => false);
    const backoff = jest.fn(() => 5);
    const verdict = classifier({ retryIf, backoff, maxAttempts: 1 }).classify(
      counted({ counted: false }),
      entryOf(message, 4),
    );
    expect(verdict).toEqual({ kind: 'back-in-line', attempts: 4, nextAttemptAt: NOW });
    expect(retryIf).not.toHaveBeenCalled();
    expect(backoff).not.toHaveBeenCalled();
  });

  it('asks retryIf with the error, the attempt number and the message: false is dead at once (rejected)', () => {
    const error = new Error('HTTP 400');
    const retryIf = jest.fn((thrown: unknown) => !(thrown instanceof Error && thrown.message.includes('400')));
    expect(classifier({ retryIf }, error).classify(counted(), entryOf(message, 1))).toEqual({
      kind: 'dead',
      attempt: 2,
      reason: 'rejected',
    });
    expect(retryIf).toHaveBeenCalledWith(error, 2, message);
    expect(classifier({ retryIf }, new Error('HTTP 503')).classify(counted(), entryOf(message, 1)).kind).toBe('retry');
  });

  it('takes the delay from a backoff function of (attempt, error, message); maxAttempts still applies', () => {
    const error = new Error('slow down');
    const backoff = jest.fn((attempt: number) => attempt * 250);
    expect(classifier({ backoff }, error).classify(counted(), entryOf(message, 3))).toEqual({
      kind: 'retry',
      attempt: 4,
      nextAttemptAt: NOW + 1000,
    });
    expect(backoff).toHaveBeenCalledWith(4, error, message);
    expect(classifier({ backoff, maxAttempts: 4 }).classify(counted(), entryOf(message, 3)).kind).toBe('dead');
  });

  it('falls back to retrying on the built-in schedule when a hook throws or gives no delay, and says so once', () => {
    const broken = classifier({
      retryIf: () => {
        throw new Error('retryIf bug');
      },
      backoff: () => Number.NaN,
    });
    expect(broken.classify(counted(), entryOf(message, 0))).toEqual({
      kind: 'retry',
      attempt: 1,
      nextAttemptAt: NOW + 1000,
    });
    broken.classify(counted(), entryOf(message, 0));
    expect([...broken.hookErrors.keys()]).toEqual(['retryIf', 'backoff']);
    expect(String(broken.hookErrors.get('backoff'))).toContain('returned NaN, not a finite number of ms >= 0');
  });
});
