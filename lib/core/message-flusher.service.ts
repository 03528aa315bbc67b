import { Inject, Injectable, Logger } from '@nestjs/common';
import { Messenger } from '../messengers/messenger.interface.js';
import { describeBatch } from './batch-description.js';
import type { Message } from './message.interface.js';
import { LOGGER_CONTEXT } from './messaging.constants.js';

/**
 * Hands a closed batch to the messenger. A failing messenger is logged once
 * and never reaches the caller: the response is already decided by then.
 */
@Injectable()
export class MessageFlusher {
  private readonly logger = new Logger(LOGGER_CONTEXT);

  constructor(@Inject(Messenger) private readonly messenger: Messenger) {}

  async flush(messages: readonly Message[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await this.messenger.send(messages);
    } catch (error) {
      this.logger.error(
        `Failed to send ${describeBatch(messages)}: ${error instanceof Error ? error.message : String(error)}`,
        error instanceof Error ? error.stack : undefined,
      );
    }
  }
}
