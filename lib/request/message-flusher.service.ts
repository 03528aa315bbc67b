import { Inject, Injectable } from '@nestjs/common';
import { OutboxDispatcher } from '../delivery/outbox-dispatcher.service.js';
import { OutboxWriteError } from '../kernel/outbox.errors.js';
import { OutboxStore } from '../kernel/outbox-store.interface.js';
import type { Message } from '../kernel/message.interface.js';
import type { DeliveryMode } from './request-options.interface.js';
import { MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';

/** Options the flusher needs, resolved once at start-up. */
export interface FlusherOptions {
  readonly delivery: DeliveryMode;
}

/**
 * Hands each closed batch to the outbox, exactly once, and wakes the
 * dispatcher. A durable store's write is awaited (the response then means
 * "stored"); a failed write rejects so the request fails rather than
 * promising a delivery nobody can keep. The memory store's refusal is logged
 * and counted, and the response stands.
 */
@Injectable()
export class MessageFlusher {
  constructor(
    @Inject(OutboxStore) private readonly store: OutboxStore,
    private readonly dispatcher: OutboxDispatcher,
    @Inject(MESSAGING_OPTIONS) private readonly options: FlusherOptions,
  ) {}

  /**
   * Stores `messages`. Returns a promise to wait on before responding (a
   * durable store, or `await` mode), `undefined` when there is nothing to
   * wait for.
   *
   * @throws (the promise rejects with) OutboxWriteError when a durable store could not take them.
   */
  flush(messages: readonly Message[]): Promise<void> | undefined {
    if (messages.length === 0) return undefined;
    const awaitDelivery = this.options.delivery === 'await';
    let appending: Promise<void>;
    try {
      appending = this.store.append(messages);
    } catch (error) {
      // A store written in plain JavaScript may throw instead of rejecting.
      appending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const stored = appending.then(
      () => {
        this.dispatcher.counters.accepted += messages.length;
        this.dispatcher.wake();
        return true;
      },
      (error: unknown) => {
        this.dispatcher.counters.refused += messages.length;
        const refusal = asWriteError(messages, error);
        this.dispatcher.refused(messages, refusal.message);
        if (this.store.durable) throw refusal;
        return false;
      },
    );
    if (awaitDelivery) {
      return stored.then((accepted) => (accepted ? this.dispatcher.whenAttempted(messages) : undefined));
    }
    return this.store.durable ? stored.then(() => undefined) : undefined;
  }
}

function asWriteError(messages: readonly Message[], error: unknown): OutboxWriteError {
  if (error instanceof OutboxWriteError) return error;
  return new OutboxWriteError(messages, error instanceof Error ? error.message : String(error), { cause: error });
}
