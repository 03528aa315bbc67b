import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule, ModuleRef } from '@nestjs/core';
import { ClsModule } from 'nestjs-cls';
import { createMessenger } from './messenger.factory.js';
import { Messenger } from '../kernel/messenger.interface.js';
import { resolveEnricher } from '../request/message-enricher.js';
import { MessageBatchContext } from '../request/message-batch.context.js';
import { ClsInterceptorDetection } from '../request/cls-interceptor.detection.js';
import { MessageQueue } from '../request/message-queue.service.js';
import { TransactionalOutbox } from '../request/transactional-outbox.service.js';
import { MessageEnrichment, type EnrichmentConfig } from '../request/message-enrichment.service.js';
import type { MessagingModuleOptions } from './messaging-options.interface.js';
import { validateMessagingOptions } from './messaging-options.validation.js';
import { MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import { MessagingInterceptor } from '../request/messaging.interceptor.js';
import { RpcHandlerBinding } from '../request/rpc-handler.binding.js';
import type { RequestBatchConfig } from '../request/message-batch.js';
import { resolveDispatchConfig } from '../delivery/dispatch-options.validation.js';
import type { DeliveryConfig } from '../delivery/dispatch-options.interface.js';
import { DELIVERY_PROVIDERS } from '../delivery/delivery.providers.js';
import { TransactionalOutboxRegistry } from '../transactional/transactional-outbox.registry.js';
import { OutboxAdmin } from '../delivery/outbox-admin.service.js';
import { BusPause } from '../delivery/bus.pause.js';
import { createOutboxStore } from './outbox-store.factory.js';
import { OutboxStore } from '../kernel/outbox-store.interface.js';
import {
  ConfigurableMessagingModule,
  MESSAGING_RAW_OPTIONS,
  type MessagingModuleForRootOptions,
} from './messaging.module-definition.js';

/** The module's options once validated, with every default applied: what each part reads (`MESSAGING_OPTIONS`). */
interface MessagingConfig extends EnrichmentConfig, RequestBatchConfig, DeliveryConfig {
  /** The options as the application gave them (validated, without defaults). */
  readonly given: MessagingModuleOptions;
}

const providers: Provider[] = [
  TransactionalOutboxRegistry,
  {
    // Validation runs here so forRoot and every forRootAsync form fail alike, at start-up.
    provide: MESSAGING_OPTIONS,
    useFactory: (raw: unknown): MessagingConfig => {
      const given = validateMessagingOptions(raw);
      return {
        given,
        enricher: resolveEnricher(given),
        delivery: given.delivery ?? 'background',
        shutdownTimeoutMs: given.shutdownTimeoutMs ?? 10_000,
        maxMessagesPerRequest: given.maxMessagesPerRequest ?? 1000,
        dispatch: resolveDispatchConfig(given.dispatch),
      };
    },
    inject: [MESSAGING_RAW_OPTIONS],
  },
  {
    provide: Messenger,
    useFactory: (config: MessagingConfig, moduleRef: ModuleRef) => createMessenger(config.given.messenger, moduleRef),
    inject: [MESSAGING_OPTIONS, ModuleRef],
  },
  {
    provide: OutboxStore,
    useFactory: (config: MessagingConfig, moduleRef: ModuleRef) => createOutboxStore(config.given.outbox, moduleRef),
    inject: [MESSAGING_OPTIONS, ModuleRef],
  },
  ...DELIVERY_PROVIDERS,
  MessageBatchContext,
  ClsInterceptorDetection,
  MessageEnrichment,
  MessageQueue,
  TransactionalOutbox,
  { provide: APP_INTERCEPTOR, useClass: MessagingInterceptor },
  // Microservice handlers, which a hybrid app's global interceptors do not reach.
  RpcHandlerBinding,
];

/**
 * Sends the messages a request adds to `MessageQueue` (or announces with
 * `@EmitsMessage()`) through the configured `Messenger`, only when the
 * request succeeds. Global by default.
 *
 * Works whether or not the application registers nestjs-cls's `ClsModule`
 * itself: it joins the app's per-request context, or opens its own.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [MessagingModule.forRoot({ messenger: LoggingMessenger })],
 * })
 * export class AppModule {}
 *
 * // or, with configuration from elsewhere:
 * MessagingModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ commentHeader: config.get('COMMENT_HEADER') }),
 * });
 * ```
 */
@Module({
  // DiscoveryModule: the transactional registry finds this application's wrapped adapters among its providers.
  imports: [ClsModule, DiscoveryModule],
  providers,
  // BusPause (internal, not in the root entry): what nestjs-messaging/terminus reads of delivery.
  exports: [MessageQueue, TransactionalOutbox, Messenger, OutboxStore, OutboxAdmin, BusPause],
})
export class MessagingModule extends ConfigurableMessagingModule {
  /**
   * Configures the module with static options; every option has a default,
   * so `forRoot()` alone logs messages through `LoggingMessenger`.
   */
  static override forRoot(options: MessagingModuleForRootOptions = {}): DynamicModule {
    return super.forRoot(options);
  }
}
