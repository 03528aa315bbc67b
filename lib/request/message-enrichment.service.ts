import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import type { JsonObject } from '../kernel/message.interface.js';
import type { MessageBatch } from './message-batch.js';
import type { MessageEnricher } from './request-options.interface.js';
import { MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';

/** What the enrichment reads of the module's resolved options (internal). */
export interface EnrichmentConfig {
  readonly enricher: MessageEnricher | null;
}

/**
 * The request's fields (PDC's author and comment, or the app's `enrich`) for the messages of a
 * batch: computed once per batch, at its first message, and copied into each body as the message
 * is created (`add()`, `@EmitsMessage()`), so that what `add()` returns is what is sent.
 */
@Injectable()
export class MessageEnrichment {
  private readonly compute: (context: ExecutionContext) => Readonly<JsonObject> | null;

  constructor(@Inject(MESSAGING_OPTIONS) config: EnrichmentConfig) {
    const { enricher } = config;
    this.compute = enricher === null ? () => null : enricher;
  }

  /**
   * The fields for the messages of `batch`; `undefined` outside a request (`run()`, no batch) or
   * with `enrich: false`.
   * @throws what a custom `enrich` throws, or `MessagingError` when its fields are not JSON.
   */
  fieldsFor(batch: MessageBatch | undefined): Readonly<JsonObject> | undefined {
    return batch?.enrichment(this.compute);
  }
}
