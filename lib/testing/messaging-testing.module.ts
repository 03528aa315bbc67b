import { Module, type DynamicModule } from '@nestjs/common';
import type { MessagingModuleOptions } from '../module/messaging-options.interface.js';
import { MessagingModule } from '../module/messaging.module.js';
import { MemoryOutboxStore } from '../stores/memory-outbox.store.js';
import { CapturingMessenger } from './capturing.messenger.js';

/**
 * `MessagingModule` wired to a fresh `CapturingMessenger`, for tests of an
 * application's own modules. Get the capture with `moduleRef.get(CapturingMessenger)`.
 *
 * @example
 * ```ts
 * const moduleRef = await Test.createTestingModule({
 *   imports: [MessagingTestingModule.forRoot(), ReleasesModule],
 * }).compile();
 * const capture = moduleRef.get(CapturingMessenger);
 * ```
 */
@Module({})
export class MessagingTestingModule {
  /**
   * @param options the same options as `MessagingModule.forRoot()`, without
   * `messenger`. `delivery` defaults to `await` here, so a response (or
   * `run()`) settles after the capture has its messages.
   */
  static forRoot(options: Omit<MessagingModuleOptions, 'messenger'> = {}): DynamicModule {
    const capture = new CapturingMessenger();
    return {
      module: MessagingTestingModule,
      global: true,
      imports: [
        MessagingModule.forRoot({
          delivery: 'await',
          // Tests run under any NODE_ENV: the memory outbox is what a test wants.
          outbox: options.outbox ?? new MemoryOutboxStore({ allowInProduction: true }),
          ...options,
          messenger: capture,
        }),
      ],
      providers: [{ provide: CapturingMessenger, useValue: capture }],
      exports: [CapturingMessenger],
    };
  }
}
