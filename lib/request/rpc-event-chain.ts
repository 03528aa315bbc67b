import { from, isObservable, mergeMap, Observable, of, type Subscription } from 'rxjs';

/** What one handler of an event chain produced: its own outcome, and the rest of the chain's. */
export interface ChainedResults {
  /** The handler's own result (a value or an observable), rejected when it failed. */
  readonly current: Promise<unknown>;
  /** What the following handlers of the chain returned, in the same shape. */
  readonly next: Promise<unknown>;
}

function toObservable(result: Promise<unknown>): Observable<unknown> {
  return from(result).pipe(mergeMap((value) => (isObservable(value) ? value : of(value))));
}

/**
 * Joins the results of the event handlers of one pattern like Nest's own
 * `forkJoin({ current, next })` (one `{ current, next }` value of their last
 * values once both completed), except that one failing does not unsubscribe
 * the other: each handler's messages are sent or dropped by its own outcome.
 * The joined observable fails with the first handler's error (`current`
 * before `next`) once both have settled, so a transport that acts on a
 * failed event (Kafka) still sees it. Unsubscribing it unsubscribes both.
 */
export function joinSettled({ current, next }: ChainedResults): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    const sources = [toObservable(current), toObservable(next)];
    const last: unknown[] = [undefined, undefined];
    const emitted = [false, false];
    const errors: ({ error: unknown } | undefined)[] = [undefined, undefined];
    let pending = sources.length;
    const settle = (): void => {
      if (--pending > 0) return;
      const failure = errors[0] ?? errors[1];
      if (failure !== undefined) subscriber.error(failure.error);
      else {
        if (emitted[0] && emitted[1]) subscriber.next({ current: last[0], next: last[1] });
        subscriber.complete();
      }
    };
    const subscriptions: Subscription[] = sources.map((source, index) =>
      source.subscribe({
        next: (value) => {
          last[index] = value;
          emitted[index] = true;
        },
        error: (error: unknown) => {
          errors[index] = { error };
          settle();
        },
        complete: settle,
      }),
    );
    return () => {
      for (const subscription of subscriptions) subscription.unsubscribe();
    };
  });
}
