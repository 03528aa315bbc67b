import { Injectable } from '@nestjs/common';
import type { Message } from '../kernel/message.interface.js';

interface Waiter {
  remaining: number;
  readonly resolve: () => void;
}

/**
 * The responses waiting in `delivery: 'await'` mode: each waits until every
 * one of its messages was attempted once (delivered, or failed and kept for a
 * retry), or until its timeout.
 */
@Injectable()
export class AttemptWaiters {
  private readonly waiters = new Map<string, Waiter>();

  /** Resolves once each of `messages` was attempted, or after `timeoutMs` (the messages stay in the outbox). */
  waitFor(messages: readonly Message[], timeoutMs: number): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const { id } of messages) this.waiters.delete(id);
        resolve();
      }, timeoutMs);
      const waiter: Waiter = {
        remaining: messages.length,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      for (const { id } of messages) this.waiters.set(id, waiter);
    });
  }

  /** The messages with these ids were attempted: their waiters may resolve. */
  attempted(ids: readonly string[]): void {
    for (const id of ids) {
      const waiter = this.waiters.get(id);
      if (waiter === undefined) continue;
      this.waiters.delete(id);
      if (--waiter.remaining === 0) waiter.resolve();
    }
  }
}
