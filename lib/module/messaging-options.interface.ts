import type { InjectionToken, Type } from '@nestjs/common';
import type { Messenger } from '../kernel/messenger.interface.js';
import type { DeliveryMode, DispatchOptions } from '../delivery/dispatch-options.interface.js';
import type { OutboxStoreOption } from './outbox-store.factory.js';
import type { EnrichmentSettings, RequestBatchSettings } from '../request/request-options.interface.js';

export type { DeliveryMode } from '../delivery/dispatch-options.interface.js';
export type { MessageEnricher } from '../request/request-options.interface.js';

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

/** Options of `MessagingModule.forRoot()` / `forRootAsync()`. */
export interface MessagingModuleOptions extends EnrichmentSettings, RequestBatchSettings {
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
}
