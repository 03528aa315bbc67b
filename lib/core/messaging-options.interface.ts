import type { ExecutionContext, InjectionToken, Type } from '@nestjs/common';
import type { Messenger } from '../messengers/messenger.interface.js';
import type { DispatchOptions } from '../reliability/dispatch-options.interface.js';
import type { OutboxStoreOption } from '../reliability/outbox-store.factory.js';
import type { JsonObject } from './message.interface.js';

/** A factory that builds the messenger, with its dependencies injected. */
export interface MessengerFactory {
  /** Builds the messenger; may be async (connect first, for example). */
  useFactory: (...dependencies: never[]) => Messenger | Promise<Messenger>;
  /** Tokens resolved anywhere in the application and passed to `useFactory`. Default: none. */
  inject?: InjectionToken[];
}

/**
 * How to obtain the messenger: a class (instantiated with dependency
 * injection), a factory, or a ready instance.
 */
export type MessengerOption = Type<Messenger> | MessengerFactory | Messenger;

/**
 * Returns the fields added to every message body of a request before it is
 * sent. Keys already present in a body are kept as the handler set them.
 */
export type MessageEnricher = (context: ExecutionContext) => Readonly<JsonObject>;

/**
 * When a successful request's response is sent relative to its messages:
 * - `background`: as soon as they are in the outbox (written to disk, for a
 *   durable store); the dispatcher sends them meanwhile. Broker latency and
 *   outages never reach response times (PDC's behaviour, made reliable).
 * - `await`: after their first delivery attempt (delivered, or failed and
 *   kept for a retry), at most `dispatch.awaitTimeoutMs`. Each response then
 *   pays a broker round trip, and a slow broker slows every request.
 */
export type DeliveryMode = 'background' | 'await';

/** Options of `MessagingModule.forRoot()` / `forRootAsync()`. */
export interface MessagingModuleOptions {
  /**
   * The messenger that sends each successful request's messages.
   * Default: `LoggingMessenger`, which logs them at debug level and sends nothing.
   */
  messenger?: MessengerOption;
  /**
   * Whether the response waits for the first delivery attempt of its
   * messages (`await`) or only for the outbox (`background`). A broker
   * failure never turns a response into an error either way. Default: `background`.
   */
  delivery?: DeliveryMode;
  /**
   * Where accepted messages wait for the broker. The default,
   * `MemoryOutboxStore`, is bounded and lost with the process; pass a
   * `SqliteOutboxStore` (or your own `OutboxStore`) for messages that survive
   * a crash. A class, a `{ useFactory, inject }` or an instance.
   * Default: `new MemoryOutboxStore()` (10 000 messages).
   */
  outbox?: OutboxStoreOption;
  /** Batching, leases, retry schedule and retention of the dispatcher. Every field has a default. */
  dispatch?: DispatchOptions;
  /**
   * On application shutdown, how long the dispatcher keeps delivering pending
   * messages before the messenger closes; what is left stays in a durable
   * store (or is logged, id by id, from the memory store). Default: `10000` ms.
   */
  shutdownTimeoutMs?: number;
  /**
   * Fields added to every message of a request, or `false` to add none.
   * Default: `author` (from `request.user`, see `authorOf`) and `comment`
   * (from the `commentHeader` request header, `null` when absent), as PDC does.
   */
  enrich?: MessageEnricher | false;
  /** Request header whose value becomes `comment`. Default: `PDC-Change-Comment`. */
  commentHeader?: string;
  /**
   * Reads the author's name from the request.
   * Default: `request.user.username`, or `''` for an anonymous request.
   */
  authorOf?: (request: unknown) => string;
}
