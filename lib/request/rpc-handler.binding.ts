import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { isObservable, Observable, type Subscription } from 'rxjs';
import { Outbox } from '../delivery/outbox.service.js';
import { MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import { MessageBatch, type RequestBatchConfig } from './message-batch.js';
import { MessageBatchContext } from './message-batch.context.js';
import { MessageEnrichment } from './message-enrichment.service.js';
import { RpcCallContext } from './rpc-call.context.js';

/** A microservice handler as `@nestjs/microservices` registers it on its server (structural: no import of the package). */
type PatternHandler = ((...args: unknown[]) => Promise<unknown>) & { next?: PatternHandler };

/** What this binding uses of a `@nestjs/microservices` `Server` (a transport strategy). */
interface RpcServer {
  addHandler(pattern: unknown, callback: PatternHandler, isEventHandler?: boolean, extras?: object): void;
  getHandlers(): Map<string, PatternHandler>;
}

const BOUND = Symbol('nestjs-messaging:bound');

function isRpcServer(target: unknown): target is RpcServer {
  const server = target as Partial<RpcServer> | null;
  return typeof server?.addHandler === 'function' && typeof server.getHandlers === 'function';
}

/**
 * Opens a message batch around every `@MessagePattern` and `@EventPattern`
 * handler of every microservice of the application (standalone, or hybrid
 * through `connectMicroservice()` with or without `inheritAppConfig`): what
 * the handler adds is sent when its result completes (for a request, as its
 * reply is sent) and dropped when it fails.
 *
 * A hybrid app's microservice without `inheritAppConfig: true` gets none of
 * the app's global interceptors, so `MessagingInterceptor` cannot cover it:
 * this binds at the transport instead, on each server Nest registers as an RPC
 * target, before its handlers are added. Where the interceptor does run too,
 * it opens its own batch inside this one and sends it; this one stays empty.
 */
@Injectable()
export class RpcHandlerBinding implements OnApplicationShutdown {
  private readonly subscription: Subscription;

  constructor(
    modules: ModulesContainer,
    private readonly batches: MessageBatchContext,
    private readonly outbox: Outbox,
    private readonly enrichment: MessageEnrichment,
    @Inject(MESSAGING_OPTIONS) private readonly config: RequestBatchConfig,
  ) {
    // Subscribed while the application is created: microservices connect (and add their handlers) after that.
    this.subscription = modules.getRpcTargetRegistry<unknown>().subscribe((target) => {
      if (isRpcServer(target)) this.bind(target);
    });
  }

  onApplicationShutdown(): void {
    this.subscription.unsubscribe();
  }

  private bind(server: RpcServer & { [BOUND]?: true }): void {
    if (server[BOUND]) return;
    server[BOUND] = true;
    const handlers = server.getHandlers();
    for (const [pattern, handler] of handlers) handlers.set(pattern, this.wrapChain(handler));
    const addHandler = server.addHandler.bind(server);
    server.addHandler = (pattern, callback, isEventHandler, extras) => {
      addHandler(pattern, this.wrap(callback), isEventHandler, extras);
    };
  }

  /** Event handlers of one pattern form a chain through `next`: each gets its own batch. */
  private wrapChain(handler: PatternHandler): PatternHandler {
    const wrapped = this.wrap(handler);
    if (handler.next !== undefined) handler.next = this.wrapChain(handler.next);
    return wrapped;
  }

  private wrap(handler: PatternHandler): PatternHandler {
    const wrapped: PatternHandler = (...args) => {
      const batch = new MessageBatch(this.config.maxMessagesPerRequest, new RpcCallContext(args, handler));
      return this.batches.runWith(batch, () => this.settle(batch, handler(...args)));
    };
    // The server appends further event handlers of the same pattern to `next` of the registered one,
    // and Nest's own handler reads its `next`: both must see the same chain.
    Object.defineProperty(wrapped, 'next', {
      get: () => handler.next,
      set: (next: PatternHandler) => {
        handler.next = next;
      },
    });
    return wrapped;
  }

  private async settle(batch: MessageBatch, returned: Promise<unknown>): Promise<unknown> {
    let result: unknown;
    try {
      result = await returned;
    } catch (error) {
      batch.drop();
      throw error;
    }
    if (!isObservable(result)) {
      await this.flush(batch);
      return result;
    }
    // Nest turns a handler's failure into an erroring observable: send only when it completes.
    return new Observable<unknown>((subscriber) => {
      const inner = result.subscribe({
        next: (value) => {
          subscriber.next(value);
        },
        error: (error: unknown) => {
          batch.drop();
          subscriber.error(error);
        },
        complete: () => {
          this.flush(batch).then(
            () => {
              subscriber.complete();
            },
            (error: unknown) => {
              subscriber.error(error);
            },
          );
        },
      });
      return () => {
        if (batch.isOpen) batch.drop();
        inner.unsubscribe();
      };
    });
  }

  private async flush(batch: MessageBatch): Promise<void> {
    const messages = batch.take();
    if (messages.length === 0) return;
    const { context } = batch;
    await this.outbox.accept(context === undefined ? messages : this.enrichment.apply(context, messages));
  }
}
