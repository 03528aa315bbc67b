import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { withBodyFields } from '../kernel/message.factory.js';
import type { Message } from '../kernel/message.interface.js';
import type { MessageEnricher } from './request-options.interface.js';
import { MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';

/** What the enrichment reads of the module's resolved options (internal). */
export interface EnrichmentConfig {
  readonly enricher: MessageEnricher | null;
}

/** Adds the request's fields (PDC's author and comment, or the app's `enrich`) to messages of that request. */
@Injectable()
export class MessageEnrichment {
  constructor(@Inject(MESSAGING_OPTIONS) private readonly config: EnrichmentConfig) {}

  apply(context: ExecutionContext, messages: readonly Message[]): readonly Message[] {
    const { enricher } = this.config;
    if (messages.length === 0 || enricher === null) return messages;
    const fields = enricher(context);
    return messages.map((message) => withBodyFields(message, fields));
  }
}
