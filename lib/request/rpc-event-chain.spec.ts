import { lastValueFrom, of, Subject } from 'rxjs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { joinSettled } from './rpc-event-chain.js';

describe('joinSettled', () => {
  it('keeps the other handler subscribed when one fails, then fails with that error once both settled', async () => {
    const slow = new Subject<string>();
    const joined = lastValueFrom(
      joinSettled({ current: Promise.reject(new Error('A fails')), next: Promise.resolve(slow.asObservable()) }),
    );
    // Nest's forkJoin would have unsubscribed the other handler by now (the rejection is settled in microtasks).
    await nextTurn();
    expect(slow.observed).toBe(true);
    slow.next('B done');
    slow.complete();
    await expect(joined).rejects.toThrow('A fails');
  });

  it("emits { current, next } of both last values, as Nest's forkJoin does, once both complete", async () => {
    const joined = joinSettled({ current: Promise.resolve(of(1, 2)), next: Promise.resolve('b') });
    await expect(lastValueFrom(joined)).resolves.toEqual({ current: 2, next: 'b' });
  });

  it("fails with the first handler's error when both fail", async () => {
    const joined = joinSettled({
      current: Promise.reject(new Error('first')),
      next: Promise.reject(new Error('second')),
    });
    await expect(lastValueFrom(joined)).rejects.toThrow('first');
  });
});
