import { Inject, Injectable, Optional } from '@nestjs/common';
import { Outbox } from '../delivery/outbox.service.js';
import { createEnrichedMessage, type AddMessageOptions } from '../kernel/message.factory.js';
import { appendOptionsOf } from '../kernel/message-schedule.js';
import type { Message } from '../kernel/message.interface.js';
import { MessagingOptionsError, NotInTransactionError } from '../kernel/messaging.errors.js';
import { OutboxWriteError } from '../kernel/outbox.errors.js';
import {
  isTransactionalOutboxStore,
  OutboxStore,
  type TransactionalOutboxStore,
} from '../kernel/outbox-store.interface.js';
import { closedTransactionReason, isDeadlock } from '../transactional/transaction-failure.js';
import { kindOf, type TransactionHandle } from '../transactional/transaction-handle.js';
import { TRANSACTION_HANDLE_KINDS } from '../transactional/transaction-handle.kinds.js';
import { MessageBatchContext } from './message-batch.context.js';
import { MessageEnrichment } from './message-enrichment.service.js';
import { MESSAGE_TRACER, type MessageTracer } from './message-tracer.interface.js';

/** Appended to the OutboxWriteError of a keyed message whose insert the database chose as a deadlock victim. */
const KEY_DEADLOCK =
  ' (the insert waits for the ordering key until other transactions holding it end: two transactions that add ' +
  "keyed messages in opposite key orders wait for each other; add a transaction's keys in one order, sorted, " +
  'or retry the transaction)';

/**
 * Messages in a database transaction you hold yourself, without
 * `@nestjs-cls/transactional`: `add(tx, topic, body)` inserts the outbox row
 * **through `tx`**, the ORM's or driver's own transaction handle, so the
 * message commits and rolls back with your change. Needs a
 * `TransactionalOutboxStore` (`PostgresOutboxStore`, `MysqlOutboxStore`) in the same database.
 *
 * Handles recognised (structurally: no ORM is loaded for this): a Knex `trx`,
 * a Kysely `Transaction` or `ControlledTransaction`, a MikroORM `EntityManager`
 * in a transaction, Prisma's interactive-transaction client, a TypeORM
 * `EntityManager` of `dataSource.transaction()`, a Drizzle `tx`, a node-postgres
 * `PoolClient`/`Client` after `BEGIN`, a `mysql2/promise` connection after
 * `beginTransaction()`. Savepoints (nested transactions) work as the database
 * makes them: a rolled-back savepoint takes its rows with it.
 *
 * @example
 * ```ts
 * constructor(private readonly db: Kysely<DB>, private readonly outbox: TransactionalOutbox) {}
 *
 * create(release: NewRelease) {
 *   return this.db.transaction().execute(async (trx) => {
 *     const row = await trx.insertInto('releases').values(release).returningAll().executeTakeFirstOrThrow();
 *     await this.outbox.add(trx, '.releases.added', { new_value: row });
 *     return row;
 *   });
 * }
 * ```
 */
@Injectable()
export class TransactionalOutbox {
  constructor(
    private readonly batches: MessageBatchContext,
    private readonly outbox: Outbox,
    private readonly enrichment: MessageEnrichment,
    @Inject(OutboxStore) private readonly store: OutboxStore,
    @Optional() @Inject(MESSAGE_TRACER) private readonly tracer?: MessageTracer,
  ) {}

  /**
   * Inserts one message into the outbox through `tx` now (one statement; with a `mysql2` connection (also under Drizzle), or a
   * `pg` client older than 8.17, one more round trip first to ask the server whether a transaction is open),
   * and resolves with it. Once the transaction commits the message is delivered; if it (or the savepoint
   * around this call) rolls back, the row is gone and nothing is sent. Inside a request, the request's
   * enrichment (author, comment) applies. Await it inside the transaction: a failed insert rejects, so your
   * transaction callback throws and rolls back.
   *
   * When the handle tells when its transaction committed (Knex), the messages are announced to this
   * process's dispatcher at once (and counted `accepted`); otherwise the store's own wake-up does it
   * (PostgreSQL: the `NOTIFY` of the insert trigger, which the database delivers on commit only).
   *
   * @param tx the transaction handle of your ORM or driver (see above).
   * @param topic for example `.releases.added`; no whitespace or wildcards.
   * @param body a JSON object, copied now.
   * @throws NotInTransactionError (a `MessagingContextError`) when `tx` is not inside an open transaction (a
   *   pool, a client before `BEGIN`, the handle of a transaction that committed or rolled back, a failed
   *   PostgreSQL transaction, an ORM's root instance) or is no handle recognised; nothing is written.
   * @throws OutboxWriteError also when PostgreSQL aborts the transaction as a deadlock victim (`40P01`): each
   *   call holds its message's ordering-key lock (default key: the topic) until the transaction ends, so two
   *   transactions adding keys in opposite orders wait for each other. Add a transaction's keys in one order.
   * @throws MessagingOptionsError naming `outbox` when the configured store cannot join transactions.
   * @throws InvalidTopicError, MessageSerializationError as `MessageQueue.add()`.
   * @throws OutboxWriteError (the promise rejects) when the insert failed; the transaction should roll back.
   */
  async add(tx: TransactionHandle, topic: string, body: object, options?: AddMessageOptions): Promise<Message> {
    const store = this.transactionalStore(topic);
    const kind = kindOf(tx, TRANSACTION_HANDLE_KINDS);
    if (kind === undefined) {
      throw new NotInTransactionError(
        topic,
        `an object that is none of the transaction handles this library knows (${TRANSACTION_HANDLE_KINDS.map(
          ({ name }) => name,
        ).join(', ')}).`,
      );
    }
    const message = this.create(topic, body, options);
    const refusal = await Promise.resolve(kind.notInTransaction(tx)).catch((error: unknown) => {
      // Asking the database may itself fail for the reason asked about (a failed PostgreSQL transaction).
      const reason = closedTransactionReason(error);
      if (reason === undefined) throw error;
      return reason;
    });
    if (refusal !== undefined) throw new NotInTransactionError(topic, refusal);
    // Registered before the write, so the statement can tell the store this process announces the
    // message (no NOTIFY); a failed write is never announced, even if the caller then commits.
    let written = false;
    const announced =
      kind.onCommit?.(tx, () => {
        if (written) this.outbox.acceptCommitted([message]);
      }) ?? false;
    try {
      await kind.write(tx, store.appendStatement([message], appendOptionsOf([message], announced)));
      written = true;
    } catch (error) {
      // Refused by the transaction itself (ended, or failed): nothing was written.
      const reason = closedTransactionReason(error);
      if (reason !== undefined) throw new NotInTransactionError(topic, reason);
      throw new OutboxWriteError(
        [message],
        `the transaction could not insert it: ${error instanceof Error ? error.message : String(error)}` +
          (message.key !== null && isDeadlock(error) ? KEY_DEADLOCK : ''),
        { cause: error },
      );
    }
    return message;
  }

  private create(topic: string, body: object, options: AddMessageOptions | undefined): Message {
    const message = createEnrichedMessage(topic, body, options, this.enrichment.fieldsFor(this.batches.current()));
    return this.tracer === undefined ? message : this.tracer.created(message);
  }

  private transactionalStore(topic: string): TransactionalOutboxStore {
    if (isTransactionalOutboxStore(this.store)) return this.store;
    throw new MessagingOptionsError([
      `outbox: TransactionalOutbox.add() on topic "${topic}" needs an outbox in the same database as the transaction ` +
        `(PostgresOutboxStore, MysqlOutboxStore); the configured store is ${this.store.constructor.name}`,
    ]);
  }
}
