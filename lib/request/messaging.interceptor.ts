import {
  Inject,
  Injectable,
  Optional,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Observable, type Subscriber, type Subscription } from 'rxjs';
import type { EmitsMessageMetadata } from './emits-message.decorator.js';
import { MessageBatch, type RequestBatchConfig } from './message-batch.js';
import { MessageBatchContext } from './message-batch.context.js';
import { createEnrichedMessage } from '../kernel/message.factory.js';
import { MessageEnrichment } from './message-enrichment.service.js';
import type { Message } from '../kernel/message.interface.js';
import { Outbox } from '../delivery/outbox.service.js';
import { noteRpcInterceptor } from './rpc-handler.binding.js';
import { EMITS_MESSAGE_METADATA, MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import { OPERATION_SCOPES, type OperationScopes } from './operation-scope.interface.js';
import { MESSAGE_TRACER, type MessageTracer } from './message-tracer.interface.js';

const NOT_DECORATED: readonly EmitsMessageMetadata[] = [];

/**
 * Opens a message batch around every handler and hands it to the outbox
 * when the handler's observable completes without error and the HTTP status
 * is below 400; otherwise drops it. The request fails when the outbox
 * refuses them (`OutboxWriteError`, `OutboxFullError`: 503). Registered
 * globally by `MessagingModule`.
 */
@Injectable()
export class MessagingInterceptor implements NestInterceptor {
  // Handlers never change after start-up: read their metadata once.
  private readonly emitsByHandler = new WeakMap<object, readonly EmitsMessageMetadata[]>();

  constructor(
    private readonly batches: MessageBatchContext,
    private readonly outbox: Outbox,
    private readonly enrichment: MessageEnrichment,
    @Inject(MESSAGING_OPTIONS) private readonly config: RequestBatchConfig,
    // GraphQL resolvers hand their messages to their operation (MessagingGraphQLModule), which sends them once.
    @Optional() @Inject(OPERATION_SCOPES) private readonly operations?: OperationScopes,
    // MessagingTelemetryModule with tracing: a create span per message, its context in the headers.
    @Optional() @Inject(MESSAGE_TRACER) private readonly tracer?: MessageTracer,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const emits = this.emitsOf(context.getHandler());
    if (context.getType() === 'rpc') noteRpcInterceptor(this.batches.current());
    return new Observable<unknown>((subscriber) => {
      // The batch knows its request, so messages written by a transaction can be enriched too.
      const batch = new MessageBatch(this.config.maxMessagesPerRequest, context, this.outbox);
      let last: unknown;
      let subscription: Subscription | undefined;
      // next.handle() binds the handler to the async context it is called in.
      this.batches.runWith(
        batch,
        () => {
          subscription = next.handle().subscribe({
            next: (value) => {
              last = value;
              subscriber.next(value);
            },
            error: (error: unknown) => {
              batch.drop();
              subscriber.error(error);
            },
            complete: () => {
              this.complete(context, batch, emits, last, subscriber);
            },
          });
        },
        context,
      );
      return () => {
        // A client that went away before completion: nothing is sent.
        if (batch.isOpen) batch.drop();
        subscription?.unsubscribe();
      };
    });
  }

  private complete(
    context: ExecutionContext,
    batch: MessageBatch,
    emits: readonly EmitsMessageMetadata[],
    result: unknown,
    subscriber: Subscriber<unknown>,
  ): void {
    if (isErrorResponse(context)) {
      batch.drop();
      subscriber.complete();
      return;
    }
    let messages: readonly Message[];
    try {
      for (const { topic, options } of emits) {
        const body: unknown = options.body ? options.body(result as never, context) : result;
        const key = typeof options.key === 'function' ? options.key(result as never, context) : options.key;
        const message = createEnrichedMessage(
          topic,
          body as object,
          { headers: options.headers, key, delay: options.delay },
          this.enrichment.fieldsFor(batch),
        );
        batch.add(this.tracer === undefined ? message : this.tracer.created(message));
      }
      // Enriched as they were created.
      messages = batch.take();
    } catch (error) {
      batch.drop();
      subscriber.error(error);
      return;
    }
    const operation = this.operations?.operationOf(context);
    if (operation !== undefined) {
      try {
        operation.collect(messages);
        subscriber.complete();
      } catch (error) {
        subscriber.error(error);
      }
      return;
    }
    // A broker failure never reaches this point; only an outbox that could not take the messages does.
    const storing = this.outbox.accept(messages);
    if (storing === undefined) {
      subscriber.complete();
    } else {
      storing.then(
        () => {
          subscriber.complete();
        },
        (error: unknown) => {
          subscriber.error(error);
        },
      );
    }
  }

  private emitsOf(handler: object): readonly EmitsMessageMetadata[] {
    let emits = this.emitsByHandler.get(handler);
    if (emits === undefined) {
      emits =
        (Reflect.getMetadata(EMITS_MESSAGE_METADATA, handler) as EmitsMessageMetadata[] | undefined) ?? NOT_DECORATED;
      this.emitsByHandler.set(handler, emits);
    }
    return emits;
  }
}

/** An HTTP handler that set a 4xx/5xx status (`@HttpCode`, `res.status()`) failed. */
function isErrorResponse(context: ExecutionContext): boolean {
  if (context.getType() !== 'http') return false;
  const response = context.switchToHttp().getResponse<{ statusCode?: number } | undefined>();
  return (response?.statusCode ?? 200) >= 400;
}
