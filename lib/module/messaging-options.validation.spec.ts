import { LoggingMessenger } from '../messengers/logging/logging.messenger.js';
import { MessagingOptionsError } from '../kernel/messaging.errors.js';
import { validateMessagingOptions } from './messaging-options.validation.js';

function issuesOf(options: unknown): readonly string[] {
  try {
    validateMessagingOptions(options);
  } catch (error) {
    if (error instanceof MessagingOptionsError) return error.issues;
    throw error;
  }
  return [];
}

describe('validateMessagingOptions', () => {
  it('accepts every valid form', () => {
    expect(issuesOf(undefined)).toEqual([]);
    expect(issuesOf({})).toEqual([]);
    expect(issuesOf({ messenger: LoggingMessenger, commentHeader: 'X-Comment', authorOf: () => 'a' })).toEqual([]);
    expect(issuesOf({ messenger: new LoggingMessenger(), enrich: false, maxMessagesPerRequest: 1 })).toEqual([]);
    expect(
      issuesOf({ messenger: { useFactory: () => new LoggingMessenger(), inject: [] }, enrich: () => ({}) }),
    ).toEqual([]);
  });

  it('lists every bad field as path: message, in one error', () => {
    expect(
      issuesOf({
        messenger: { useFactory: 3, inject: 'x' },
        delivery: 'later',
        shutdownTimeoutMs: -1,
        maxMessagesPerRequest: 0,
        enrich: 'yes',
        commentHeader: 'bad header',
        authorOf: 1,
        colour: 'red',
      }),
    ).toEqual([
      'colour: unknown option (known: messenger, delivery, outbox, dispatch, shutdownTimeoutMs, maxMessagesPerRequest, enrich, commentHeader, authorOf, isGlobal)',
      'messenger.useFactory: expected a function, got number 3',
      'messenger.inject: expected an array of tokens, got "x"',
      'delivery: expected "background" or "await", got "later"',
      'shutdownTimeoutMs: expected a whole number of milliseconds >= 0, got number -1',
      'maxMessagesPerRequest: expected a whole number >= 1, got number 0',
      'enrich: expected a function (context) => fields, or false, got "yes"',
      'commentHeader: expected an HTTP header name, got "bad header"',
      'authorOf: expected a function (request) => string, got number 1',
    ]);
  });

  it('refuses a maxMessagesPerRequest that is not a whole number >= 1, naming the option', () => {
    expect(issuesOf({ maxMessagesPerRequest: 2.5 })).toEqual([
      'maxMessagesPerRequest: expected a whole number >= 1, got number 2.5',
    ]);
    expect(issuesOf({ maxMessagesPerRequest: '10' })).toEqual([
      'maxMessagesPerRequest: expected a whole number >= 1, got "10"',
    ]);
  });

  it('refuses a messenger object without send()', () => {
    expect(issuesOf({ messenger: { publish: () => undefined } })).toEqual([
      'messenger: the object has no send(messages) method; pass a Messenger class, instance or { useFactory, inject }',
    ]);
  });

  it('refuses default-enricher settings beside a custom enricher', () => {
    expect(issuesOf({ enrich: false, commentHeader: 'X-C', authorOf: () => '' })).toEqual([
      'commentHeader: only used by the default enricher; remove it or remove enrich',
      'authorOf: only used by the default enricher; remove it or remove enrich',
    ]);
  });

  it('checks outbox and dispatch options, naming each path', () => {
    expect(
      issuesOf({
        outbox: { path: 'outbox.db' },
        dispatch: { batchSize: 0, leaseMs: 1.5, colour: 1, retry: { jitter: 2, maxAttempts: 0, multiplier: 0.5 } },
      }),
    ).toEqual([
      'outbox: the object is not an OutboxStore (missing append, claim, markDelivered, reschedule, nextDueAt, list, counts, retry, purge); pass a store such as new SqliteOutboxStore({ path })',
      'dispatch.colour: unknown option (known: batchSize, batchWindowMs, leaseMs, sendTimeoutMs, pollIntervalMs, busProbeIntervalMs, retainDeliveredMs, awaitTimeoutMs, summaryIntervalMs, retry, ordering)',
      'dispatch.batchSize: expected a whole number >= 1, got 0',
      'dispatch.leaseMs: expected a whole number >= 1, got 1.5',
      'dispatch.retry.multiplier: expected a number >= 1, got 0.5',
      'dispatch.retry.maxAttempts: expected a whole number >= 1, got 0',
      'dispatch.retry.jitter: expected a number from 0 to 1, got 2',
    ]);
    expect(issuesOf({ outbox: { useFactory: 'x' }, dispatch: [] })).toEqual([
      'outbox.useFactory: expected a function, got "x"',
      'dispatch: expected an object, got []',
    ]);
  });

  it('refuses a send timeout that does not end before the lease, naming both', () => {
    expect(issuesOf({ dispatch: { leaseMs: 100, sendTimeoutMs: 150 } })).toEqual([
      'dispatch.sendTimeoutMs: must be less than dispatch.leaseMs (100), got 150: ' +
        'a send still running when the lease ends may be claimed and sent again by another instance',
    ]);
  });

  it('refuses options that are not an object', () => {
    expect(issuesOf('logging')).toEqual(['options: expected an object, got "logging"']);
  });

  it('says what is wrong in the error message', () => {
    expect(() => validateMessagingOptions({ enrich: 1 })).toThrow(
      'Invalid MessagingModule options:\n  - enrich: expected a function (context) => fields, or false, got number 1',
    );
  });
});
