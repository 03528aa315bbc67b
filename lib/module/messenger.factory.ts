import type { ModuleRef } from '@nestjs/core';
import type { MessengerOption } from './messaging-options.interface.js';
import { resolvePluggable } from './pluggable.js';
import { LoggingMessenger } from '../messengers/logging/logging.messenger.js';
import type { Messenger } from '../kernel/messenger.interface.js';

/** Builds the configured messenger; `LoggingMessenger` when none is configured. */
export function createMessenger(option: MessengerOption | undefined, moduleRef: ModuleRef): Promise<Messenger> {
  return resolvePluggable<Messenger>(option, () => new LoggingMessenger(), moduleRef);
}
