import type { ModuleRef } from '@nestjs/core';
import type { MessengerOption } from '../core/messaging-options.interface.js';
import { LoggingMessenger } from './logging/logging.messenger.js';
import type { Messenger } from './messenger.interface.js';

/**
 * Builds the configured messenger. Classes are instantiated through the
 * module's injector so they can inject config, loggers and the like.
 */
export async function createMessenger(option: MessengerOption | undefined, moduleRef: ModuleRef): Promise<Messenger> {
  if (option === undefined) return new LoggingMessenger();
  if (typeof option === 'function') return moduleRef.create(option);
  if ('useFactory' in option) {
    const dependencies = (option.inject ?? []).map((token) => moduleRef.get<unknown, never>(token, { strict: false }));
    return option.useFactory(...dependencies);
  }
  return option;
}
