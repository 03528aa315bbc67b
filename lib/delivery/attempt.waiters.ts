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
  // Per message id, every response waiting for it: two requests may add one caller-supplied id.
  private readonly waiters = new Map<string, Set<Waiter>>();

  /** Resolves once each of `messages` was attempted, or after `timeoutMs` (the messages stay in the outbox). */
  waitFor(messages: readonly Message[], timeoutMs: number): Promise<void> {
    // A caller-supplied id repeated in one batch is one message in the store, attempted once.
    const ids = new Set(messages.map(({ id }) => id));
    if (ids.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const id of ids) this.forget(id, waiter);
        resolve();
      }, timeoutMs);
      const waiter: Waiter = {
        remaining: ids.size,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      for (const id of ids) {
        let waiting = this.waiters.get(id);
        if (waiting === undefined) this.waiters.set(id, (waiting = new Set()));
        waiting.add(waiter);
      }
    });
  }

  /** The messages with these ids were attempted: their waiters may resolve. */
  attempted(ids: readonly string[]): void {
    for (const id of ids) {
      const waiting = this.waiters.get(id);
      if (waiting === undefined) continue;
      this.waiters.delete(id);
      for (const waiter of waiting) if (--waiter.remaining === 0) waiter.resolve();
    }
  }

  private forget(id: string, waiter: Waiter): void {
    const waiting = this.waiters.get(id);
    waiting?.delete(waiter);
    if (waiting?.size === 0) this.waiters.delete(id);
  }
}
