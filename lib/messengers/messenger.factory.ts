import type { ModuleRef } from '@nestjs/core';
import type { MessengerOption } from '../core/messaging-options.interface.js';
import { resolvePluggable } from '../core/pluggable.js';
import { LoggingMessenger } from './logging/logging.messenger.js';
import type { Messenger } from './messenger.interface.js';

/** Builds the configured messenger; `LoggingMessenger` when none is configured. */
export function createMessenger(option: MessengerOption | undefined, moduleRef: ModuleRef): Promise<Messenger> {
  return resolvePluggable<Messenger>(option, () => new LoggingMessenger(), moduleRef);
}
