import { Injectable } from '@nestjs/common';

/** What this process did with messages since it started (`OutboxAdmin.stats().sinceStart`). */
export interface DispatchCounters {
  /** Messages stored in the outbox. */
  readonly accepted: number;
  /** Messages the outbox refused (memory store full, or a failed write). */
  readonly refused: number;
  /** Messages the bus took. */
  readonly delivered: number;
  /** Failed attempts that counted against a message. */
  readonly failedAttempts: number;
  /** Messages declared dead. */
  readonly dead: number;
}

/**
 * The counters behind `DispatchCounters`, private to delivery: the outbox
 * counts what it accepts and refuses, the delivery worker what becomes of
 * each attempt; everyone else reads a snapshot.
 */
@Injectable()
export class OutboxCounters {
  private counts = { accepted: 0, refused: 0, delivered: 0, failedAttempts: 0, dead: 0 };

  /** Adds `count` (a whole number >= 0) to one counter. */
  add(counter: keyof DispatchCounters, count: number): void {
    this.counts[counter] += count;
  }

  /** A copy of the counters now; later counting does not change it. */
  snapshot(): DispatchCounters {
    return Object.freeze({ ...this.counts });
  }
}
