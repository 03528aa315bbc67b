import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { MessagingModuleOptions } from './messaging-options.interface.js';

/** Extra options of `forRoot()` / `forRootAsync()` that shape the module itself. */
export interface MessagingModuleExtras {
  /** Register the module globally so `MessageQueue` is injectable everywhere. Default: `true`. */
  isGlobal?: boolean;
}

export const {
  ConfigurableModuleClass: ConfigurableMessagingModule,
  MODULE_OPTIONS_TOKEN: MESSAGING_RAW_OPTIONS,
  OPTIONS_TYPE: MESSAGING_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: MESSAGING_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MessagingModuleOptions>({ moduleName: 'Messaging' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createMessagingOptions')
  .setExtras<MessagingModuleExtras>({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal ?? true,
  }))
  .build();

/** Options accepted by `MessagingModule.forRoot()`. */
export type MessagingModuleForRootOptions = typeof MESSAGING_OPTIONS_TYPE;
/** Options accepted by `MessagingModule.forRootAsync()`. */
export type MessagingModuleAsyncOptions = typeof MESSAGING_ASYNC_OPTIONS_TYPE;
