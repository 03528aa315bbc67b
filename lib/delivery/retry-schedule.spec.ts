import { resolveDispatchConfig } from './dispatch-options.validation.js';
import { nextAttemptAt, retryDelayMs } from './retry-schedule.js';

const { retry: defaults } = resolveDispatchConfig();

describe('the retry schedule', () => {
  it('by default doubles from 1 s to a cap of 5 minutes, before jitter', () => {
    const noJitter = (): number => 0;
    expect([1, 2, 3, 4, 9, 10, 30].map((attempts) => retryDelayMs(defaults, attempts, noJitter))).toEqual([
      1000, 2000, 4000, 8000, 256_000, 300_000, 300_000,
    ]);
  });

  it('draws each delay from [d × (1 − jitter), d]: half of it by default', () => {
    expect(retryDelayMs(defaults, 3, () => 0.999_999)).toBe(2000);
    expect(retryDelayMs({ ...defaults, jitter: 0.2 }, 3, () => 0.5)).toBe(3600);
  });

  it('gives up after maxAttempts (20) or maxAgeMs (a day), whichever comes first', () => {
    const now = Date.now();
    expect(nextAttemptAt(defaults, 19, now, now, () => 0)).toBe(now + 300_000);
    expect(nextAttemptAt(defaults, 20, now, now)).toBeUndefined();
    expect(nextAttemptAt(defaults, 1, now - 86_400_000, now)).toBeUndefined();
    expect(nextAttemptAt(defaults, 1, now - 86_399_999, now, () => 0)).toBe(now + 1000);
  });

  it('with the defaults, the 20th attempt comes about an hour after the first', () => {
    let total = 0;
    for (let attempts = 1; attempts < 20; attempts++) total += retryDelayMs(defaults, attempts, () => 0);
    expect(total).toBe(511_000 + 10 * 300_000);
  });
});
