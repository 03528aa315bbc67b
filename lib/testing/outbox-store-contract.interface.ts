import type { OutboxStore } from '../kernel/outbox-store.interface.js';

/**
 * One outbox opened for one case of the store contract suite: a fresh, empty outbox the case
 * fills, and closes at its end.
 */
export interface OutboxUnderTest {
  /** The store the case works on. */
  readonly store: OutboxStore;
  /**
   * Optional: another store object on the **same** outbox, as another process would open it (a
   * second connection to the same table or file). The concurrency cases claim through both, as
   * two dispatchers in two processes. Without it they use `store` for both owners, which is
   * right for a store that lives in one process's memory. Stores it returns are closed by `close()`.
   */
  another?(): OutboxStore | Promise<OutboxStore>;
  /** Closes `store` and every store `another()` returned, and deletes the outbox (table, file). */
  close(): Promise<void>;
}

/** The store an author wants to prove, as the contract suite opens it. */
export interface OutboxStoreContractSubject {
  /** Opens a fresh, empty outbox; called once per case. */
  open(): OutboxUnderTest | Promise<OutboxUnderTest>;
  /**
   * Whether the store judges lease expiry by its own clock (a database's), not by the caller's
   * `ClaimRequest.now`: the lease cases then wait for real time to pass rather than move `now`
   * forward, and expect a caller whose clock runs ahead to take no live lease. Default: `false`.
   */
  readonly ownClock?: boolean;
}

/**
 * One case of the contract: `run()` resolves when the store keeps the contract, and rejects with
 * an `AssertionError` (`node:assert`) saying what it did instead. Any runner can run it:
 * `for (const c of cases) it(c.name, c.run, c.timeoutMs)`.
 */
export interface OutboxStoreContractCase {
  /** What the case proves, as a sentence. */
  readonly name: string;
  /** Which group it belongs to: `delivery`, `operations` or `concurrency`. */
  readonly group: 'delivery' | 'operations' | 'concurrency';
  /** The longest the case takes on a working store, in ms (for the runner's timeout). */
  readonly timeoutMs: number;
  run(): Promise<void>;
}
