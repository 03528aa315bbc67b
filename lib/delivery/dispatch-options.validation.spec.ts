import { checkDispatchOptions, resolveDispatchConfig } from './dispatch-options.validation.js';

function issuesOf(dispatch: unknown): string[] {
  const issues: string[] = [];
  checkDispatchOptions(dispatch, issues);
  return issues;
}

describe('dispatch.sendTimeoutMs', () => {
  it("defaults to three quarters of leaseMs, above AmqpMessenger's own 30 s", () => {
    expect(resolveDispatchConfig().sendTimeoutMs).toBe(45_000);
    expect(resolveDispatchConfig({ leaseMs: 1000 }).sendTimeoutMs).toBe(750);
    expect(resolveDispatchConfig({ leaseMs: 1001 }).sendTimeoutMs).toBe(750);
    expect(resolveDispatchConfig({ leaseMs: 1000, sendTimeoutMs: 999 }).sendTimeoutMs).toBe(999);
  });

  it('is accepted below leaseMs, given or default', () => {
    expect(issuesOf({ leaseMs: 1000, sendTimeoutMs: 999 })).toEqual([]);
    expect(issuesOf({ sendTimeoutMs: 59_999 })).toEqual([]);
  });

  it('must be less than leaseMs: start-up fails naming both options', () => {
    expect(issuesOf({ leaseMs: 1000, sendTimeoutMs: 1000 })).toEqual([
      'dispatch.sendTimeoutMs: must be less than dispatch.leaseMs (1000), got 1000: ' +
        'a send still running when the lease ends may be claimed and sent again by another instance',
    ]);
    expect(issuesOf({ sendTimeoutMs: 60_000 })).toEqual([
      'dispatch.sendTimeoutMs: must be less than dispatch.leaseMs (60000, the default), got 60000: ' +
        'a send still running when the lease ends may be claimed and sent again by another instance',
    ]);
  });

  it('must be a whole number of ms >= 1, like the other dispatch options', () => {
    expect(issuesOf({ sendTimeoutMs: 0 })).toEqual(['dispatch.sendTimeoutMs: expected a whole number >= 1, got 0']);
    expect(issuesOf({ sendTimeoutMs: '5s' })).toEqual([
      'dispatch.sendTimeoutMs: expected a whole number >= 1, got "5s"',
    ]);
    // An invalid leaseMs is reported once, not compared.
    expect(issuesOf({ leaseMs: 0, sendTimeoutMs: 10 })).toEqual([
      'dispatch.leaseMs: expected a whole number >= 1, got 0',
    ]);
  });
});

describe('dispatch.retry.backoff and retryIf', () => {
  const backoff = (): number => 10;

  it('takes the schedule as an object in backoff, as before beside it, or as a function', () => {
    expect(issuesOf({ retry: { backoff: { initialDelayMs: 5, multiplier: 3, maxDelayMs: 50, jitter: 0 } } })).toEqual(
      [],
    );
    expect(resolveDispatchConfig({ retry: { backoff: { initialDelayMs: 5, jitter: 0 } } }).retry).toMatchObject({
      initialDelayMs: 5,
      multiplier: 2,
      jitter: 0,
      backoff: undefined,
    });
    expect(resolveDispatchConfig({ retry: { initialDelayMs: 7 } }).retry.initialDelayMs).toBe(7);
    expect(issuesOf({ retry: { backoff, initialDelayMs: 100, retryIf: () => true } })).toEqual([]);
    // With a function, initialDelayMs still starts the waits while the bus is unreachable.
    expect(resolveDispatchConfig({ retry: { backoff, initialDelayMs: 100 } }).retry).toMatchObject({
      initialDelayMs: 100,
      backoff,
    });
  });

  it('refuses the schedule given twice, schedule fields a function ignores, and wrong types, naming the option', () => {
    expect(issuesOf({ retry: { backoff: { initialDelayMs: 5 }, jitter: 0 } })).toEqual([
      'dispatch.retry.jitter: give the schedule either beside dispatch.retry.backoff or in it, not both',
    ]);
    expect(issuesOf({ retry: { backoff, multiplier: 3, maxDelayMs: 10 } })).toEqual([
      'dispatch.retry.multiplier: has no effect with a dispatch.retry.backoff function; remove it',
      'dispatch.retry.maxDelayMs: has no effect with a dispatch.retry.backoff function; remove it',
    ]);
    expect(issuesOf({ retry: { backoff: 1000 } })).toEqual([
      'dispatch.retry.backoff: expected an object (initialDelayMs, multiplier, maxDelayMs, jitter) or a function (attempt, error, message) => ms, got 1000',
    ]);
    expect(issuesOf({ retry: { backoff: { initialDelayMs: -1, jitter: 2, maxAttempts: 3 } } })).toEqual([
      'dispatch.retry.backoff.maxAttempts: unknown option (known: initialDelayMs, multiplier, maxDelayMs, jitter)',
      'dispatch.retry.backoff.initialDelayMs: expected a whole number >= 0, got -1',
      'dispatch.retry.backoff.jitter: expected a number from 0 to 1, got 2',
    ]);
    expect(issuesOf({ retry: { retryIf: true } })).toEqual([
      'dispatch.retry.retryIf: expected a function (error, attempt, message) => boolean, got true',
    ]);
  });
});

describe('dispatch.ordering', () => {
  const issuesOf = (ordering: unknown): string[] => {
    const issues: string[] = [];
    checkDispatchOptions({ ordering }, issues);
    return issues;
  };

  it("takes 'step-aside', 'hold' or a function of the key, defaulting to 'step-aside'", () => {
    expect(issuesOf({ onFailure: 'hold' })).toEqual([]);
    expect(issuesOf({ onFailure: () => 'hold' })).toEqual([]);
    expect(resolveDispatchConfig({}).ordering.onFailure).toBe('step-aside');
  });

  it('names what is wrong', () => {
    expect(issuesOf({ onFailure: 'wait', colour: 1 })).toEqual([
      'dispatch.ordering.colour: unknown option (known: onFailure)',
      "dispatch.ordering.onFailure: expected 'step-aside', 'hold' or a function of the key returning one, got \"wait\"",
    ]);
    expect(issuesOf('hold')).toEqual(['dispatch.ordering: expected an object, got "hold"']);
  });
});
