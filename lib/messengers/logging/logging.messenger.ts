import { Injectable, Logger } from '@nestjs/common';
import { LOGGER_CONTEXT } from '../../kernel/messaging.constants.js';
import type { Message } from '../../kernel/message.interface.js';
import type { Messenger } from '../../kernel/messenger.interface.js';
import { stringifySorted } from './sorted-json.js';

/**
 * The default messenger (PDC's DummyMessenger): logs every message at debug
 * level as pretty JSON with sorted keys, and sends nothing. Enable debug
 * logs (`logger: ['log', 'debug', ...]` in `NestFactory.create`) to see them.
 */
@Injectable()
export class LoggingMessenger implements Messenger {
  private readonly logger = new Logger(LOGGER_CONTEXT);

  send(messages: readonly Message[]): Promise<void> {
    for (const message of messages) {
      this.logger.debug(`Message on ${message.topic}:\n${stringifySorted(message)}`);
    }
    return Promise.resolve();
  }
}
