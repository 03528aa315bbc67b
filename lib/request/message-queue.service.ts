import { Inject, Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { Outbox } from '../delivery/outbox.service.js';
import {
  isTransactionalOutboxStore,
  OutboxStore,
  type TransactionalOutboxStore,
} from '../kernel/outbox-store.interface.js';
import { TransactionalOutboxRegistry } from '../transactional/transactional-outbox.registry.js';
import { MessageBatch, type RequestBatchConfig } from './message-batch.js';
import { MessageBatchContext } from './message-batch.context.js';
import { createEnrichedMessage, type AddMessageOptions } from '../kernel/message.factory.js';
import type { Message } from '../kernel/message.interface.js';
import { MessageEnrichment } from './message-enrichment.service.js';
import { MessageLimitError, MessagingOptionsError } from '../kernel/messaging.errors.js';
import { MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import { MESSAGE_TRACER, type MessageTracer } from './message-tracer.interface.js';

/**
 * The messages of the current request. Inject it anywhere (controllers,
 * services, helpers they call): each request has its own queue, sent only if
 * the request succeeds.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class ReleasesService {
 *   constructor(private readonly messages: MessageQueue) {}
 *
 *   create(release: Release) {
 *     this.repository.save(release);
 *     this.messages.add('.releases.added', { new_value: release });
 *   }
 * }
 * ```
 */
@Injectable()
export class MessageQueue implements OnModuleInit {
  constructor(
    private readonly batches: MessageBatchContext,
    private readonly outbox: Outbox,
    private readonly enrichment: MessageEnrichment,
    @Inject(OutboxStore) private readonly store: OutboxStore,
    private readonly transactional: TransactionalOutboxRegistry,
    @Inject(MESSAGING_OPTIONS) private readonly config: RequestBatchConfig,
    // MessagingTelemetryModule with tracing: a create span per message, its context in the headers.
    @Optional() @Inject(MESSAGE_TRACER) private readonly tracer?: MessageTracer,
  ) {}

  /**
   * A transactional adapter with a store that cannot join its transactions would fail at the
   * first message: fail at start-up instead.
   *
   * @throws MessagingOptionsError naming `outbox`
   */
  onModuleInit(): void {
    if (this.transactional.inUse() && !isTransactionalOutboxStore(this.store)) {
      throw new MessagingOptionsError([
        `outbox: withTransactionalOutbox() is in use, which needs an outbox in the same database ` +
          `(PostgresOutboxStore); the configured store is ${this.store.constructor.name}`,
      ]);
    }
  }

  /**
   * Queues a message for the current request and returns it. The body is
   * validated and copied now: changing the object afterwards does not change
   * the message.
   *
   * Inside a database transaction started through an adapter wrapped by
   * `withTransactionalOutbox()`, the message belongs to that transaction
   * instead: it is inserted into the outbox by the transaction just before it
   * commits, and is gone if the transaction (or its savepoint) rolls back,
   * whatever the request does afterwards. That works in requests, cron jobs
   * and consumers alike, without `run()`.
   *
   * @param topic for example `.releases.added`; no whitespace or wildcards.
   * @param body a JSON object.
   * Every `add()` either ends in the outbox or throws here: work that
   * outlives its context (un-awaited promises, timers) and calls `add()`
   * after the request, `run()` or transaction finished (or while the
   * transaction's messages are being written) gets `MessagingContextClosedError`.
   *
   * @throws MessagingContextError outside a request, `run()` or a wrapped transaction.
   * @throws MessagingContextClosedError (a `MessagingContextError`) when that context already closed.
   * @throws MessageLimitError when the context already holds `maxMessagesPerRequest` messages.
   * @throws InvalidTopicError when the topic cannot be published.
   * @throws MessageSerializationError naming the path of a value JSON cannot represent.
   */
  add(topic: string, body: object, options?: AddMessageOptions): Message {
    const scope = this.transactional.current(topic);
    if (scope !== undefined) {
      const fields = this.enrichment.fieldsFor(this.batches.current());
      let message = createEnrichedMessage(topic, body, options, fields);
      if (this.tracer !== undefined) message = this.tracer.created(message);
      const limit = this.config.maxMessagesPerRequest;
      if (scope.size >= limit) throw new MessageLimitError(topic, limit, 'this database transaction');
      scope.add(message, this.transactionalStore(topic), (committed) => {
        this.outbox.acceptCommitted(committed);
      });
      return message;
    }
    const batch = this.requireBatch(topic);
    let message = createEnrichedMessage(topic, body, options, this.enrichment.fieldsFor(batch));
    if (this.tracer !== undefined) message = this.tracer.created(message);
    batch.add(message);
    return message;
  }

  /** The messages queued so far in the current context, in order. Empty outside one. */
  get pending(): readonly Message[] {
    return this.batches.current()?.pending ?? [];
  }

  /** Whether `add()` can be called here. */
  isActive(): boolean {
    return this.batches.current()?.isOpen === true;
  }

  /**
   * Opens a message context for work that is not a request handler (cron
   * jobs, queue consumers, scripts): messages added inside `fn` are sent
   * when it resolves and dropped when it rejects. It always opens a new
   * batch, even inside a request. The promise settles like `fn`'s, once the
   * messages are in the outbox (with `delivery: 'await'`, after their first
   * delivery attempt); it rejects with `OutboxWriteError` when the outbox
   * could not store them (`OutboxFullError` from a full memory outbox), and
   * with `OutboxClosedError` when the memory outbox's shutdown drain already
   * ended. A `run()` open when shutdown starts holds the drain (up to
   * `shutdownTimeoutMs`), so its messages are still delivered.
   *
   * @example
   * ```ts
   * @Cron('0 * * * *')
   * sync() {
   *   return this.messages.run(() => this.importer.importComposes());
   * }
   * ```
   */
  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const batch = new MessageBatch(this.config.maxMessagesPerRequest, undefined, this.outbox);
    return this.batches.runWith(batch, async () => {
      let result: T;
      try {
        result = await fn();
      } catch (error) {
        batch.drop();
        throw error;
      }
      await this.outbox.accept(batch.take());
      return result;
    });
  }

  private transactionalStore(topic: string): TransactionalOutboxStore {
    if (isTransactionalOutboxStore(this.store)) return this.store;
    throw new MessagingOptionsError([
      `outbox: a message on topic "${topic}" was added inside a transaction, which needs an outbox in the same database ` +
        `(PostgresOutboxStore); the configured store is ${this.store.constructor.name}`,
    ]);
  }

  private requireBatch(topic: string): MessageBatch {
    const batch = this.batches.current();
    if (batch === undefined) throw this.batches.missing(topic);
    return batch;
  }
}
