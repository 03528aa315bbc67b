import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { AsyncResource } from 'node:async_hooks';
import { isObservable, Observable, type Observer, type Subscription } from 'rxjs';
import { Outbox } from '../delivery/outbox.service.js';
import { EMITS_MESSAGE_METADATA, MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import { MessageBatch, type RequestBatchConfig } from './message-batch.js';
import { MessageBatchContext } from './message-batch.context.js';
import { rpcCallContext } from './rpc-call.context.js';
import { joinSettled } from './rpc-event-chain.js';

/** A microservice handler as `@nestjs/microservices` registers it on its server (structural: no import of the package). */
type PatternHandler = ((...args: unknown[]) => Promise<unknown>) & {
  next?: PatternHandler;
  isEventHandler?: boolean;
  extras?: object;
};

/** What this binding uses of a `@nestjs/microservices` `Server` (a transport strategy). */
interface RpcServer {
  addHandler(pattern: unknown, callback: PatternHandler, isEventHandler?: boolean, extras?: object): void;
  getHandlers(): Map<string, PatternHandler>;
}

const BOUND = Symbol('nestjs-messaging:bound');
/** `@nestjs/microservices`' metadata key of `@MessagePattern`/`@EventPattern` on a method. */
const PATTERN_METADATA = 'microservices:pattern';

/** Batches of calls that `MessagingInterceptor` also ran for (it notes them; they stay empty). */
const intercepted = new WeakSet<MessageBatch>();

/** Called by `MessagingInterceptor` for an RPC call: the app's global interceptors reach this microservice. */
export function noteRpcInterceptor(batch: MessageBatch | undefined): void {
  if (batch !== undefined) intercepted.add(batch);
}

function isRpcServer(target: unknown): target is RpcServer {
  const server = target as Partial<RpcServer> | null;
  return typeof server?.addHandler === 'function' && typeof server.getHandlers === 'function';
}

/**
 * Opens a message batch around every `@MessagePattern` and `@EventPattern`
 * handler of every microservice of the application (standalone, or hybrid
 * through `connectMicroservice()` with or without `inheritAppConfig`): what
 * the handler adds is sent when its result completes (for a request, as its
 * reply is sent) and dropped when it fails. Several `@EventPattern` handlers
 * of one pattern each succeed or fail on their own: one failing does not
 * drop what another added.
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
  private readonly logger = new Logger('Messaging');
  private emitting: readonly string[] | undefined;
  /** The rest of an event chain by the batch of the handler it follows, from its call until joined. */
  private readonly chains = new WeakMap<MessageBatch, Promise<unknown> | undefined>();

  constructor(
    private readonly modules: ModulesContainer,
    private readonly batches: MessageBatchContext,
    private readonly outbox: Outbox,
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
    const checked = { done: false };
    const handlers = server.getHandlers();
    for (const [pattern, handler] of handlers) handlers.set(pattern, this.wrap(handler, checked));
    const addHandler = server.addHandler.bind(server);
    server.addHandler = (pattern, callback, isEventHandler, extras) => {
      addHandler(pattern, this.wrap(callback, checked), isEventHandler, extras);
    };
  }

  private wrap(handler: PatternHandler, checked: { done: boolean }): PatternHandler {
    const wrapped: PatternHandler = (...args) => {
      const batch = new MessageBatch(this.config.maxMessagesPerRequest, rpcCallContext(args, handler), this.outbox);
      return this.batches.runWith(batch, () => {
        // Nest's enhancer chain runs when its observable is subscribed, which the server does later, elsewhere.
        const inCall = AsyncResource.bind(subscribeTo);
        if (wrapped.next === undefined) return this.settle(batch, handler(...args), checked, inCall);
        this.chains.set(batch, undefined);
        return this.joinChain(batch, this.settle(batch, handler(...args), checked, inCall));
      });
    };
    wrapped.isEventHandler = handler.isEventHandler;
    wrapped.extras = handler.extras;
    // Further event handlers of the pattern form a chain through `next`, which the server appends to (on our
    // wrappers). Nest's own handler calls its `next` and forkJoins both results, so one failing would cut the
    // other: it gets a link that starts the rest of the chain apart, and `joinChain` joins them settled.
    wrapped.next = handler.next === undefined ? undefined : this.wrap(handler.next, checked);
    const link: PatternHandler = (...chainArgs) => this.follow(wrapped.next, chainArgs);
    Object.defineProperty(handler, 'next', {
      configurable: true,
      get: () => (wrapped.next === undefined ? undefined : link),
      set: (next: PatternHandler | undefined) => {
        wrapped.next = next;
      },
    });
    return wrapped;
  }

  /** Runs the rest of an event chain for the handler whose batch is current; Nest joins nothing of it. */
  private follow(next: PatternHandler | undefined, args: unknown[]): Promise<unknown> {
    if (next === undefined) return Promise.resolve(undefined);
    const rest = next(...args);
    const batch = this.batches.current();
    // Called elsewhere than inside a wrapper that expects it: let Nest join it as it would.
    if (batch === undefined || !this.chains.has(batch) || this.chains.get(batch) !== undefined) return rest;
    this.chains.set(batch, rest);
    return Promise.resolve(undefined);
  }

  /** The handler's own outcome joined with the rest of its chain, which Nest's handler started before it settled. */
  private async joinChain(batch: MessageBatch, current: Promise<unknown>): Promise<unknown> {
    await current.then(noop, noop);
    const next = this.chains.get(batch);
    this.chains.delete(batch);
    return next === undefined ? current : joinSettled({ current, next });
  }

  private async settle(
    batch: MessageBatch,
    returned: Promise<unknown>,
    checked: { done: boolean },
    inCall: typeof subscribeTo,
  ): Promise<unknown> {
    let result: unknown;
    try {
      result = await returned;
    } catch (error) {
      batch.drop();
      throw error;
    }
    if (!isObservable(result)) {
      await this.flush(batch, checked);
      return result;
    }
    // Nest turns a handler's failure into an erroring observable: send only when it completes.
    return new Observable<unknown>((subscriber) => {
      const inner = inCall(result, {
        next: (value) => {
          subscriber.next(value);
        },
        error: (error: unknown) => {
          batch.drop();
          subscriber.error(error);
        },
        complete: () => {
          this.flush(batch, checked).then(
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

  /**
   * `@EmitsMessage()` is read by `MessagingInterceptor`, which a hybrid app's microservice runs only
   * with `inheritAppConfig: true`: say so at its first call, when the app uses it on pattern handlers.
   */
  private warnUnlessCovered(): void {
    this.emitting ??= emittingPatternHandlers(this.modules);
    if (this.emitting.length === 0) return;
    this.logger.warn(
      `@EmitsMessage() on microservice handlers (${this.emitting.join(', ')}) sends nothing for a microservice that ` +
        "does not run the application's global interceptors: a hybrid app's connectMicroservice() without " +
        'inheritAppConfig. Connect it with app.connectMicroservice(options, { inheritAppConfig: true }), or add ' +
        'those messages with MessageQueue.add() in the handler (which works either way).',
    );
  }

  private async flush(batch: MessageBatch, checked: { done: boolean }): Promise<void> {
    if (!checked.done) {
      checked.done = true;
      // A call that succeeded went through the interceptors this microservice has, if any.
      if (!intercepted.has(batch)) this.warnUnlessCovered();
    }
    const messages = batch.take();
    if (messages.length === 0) return;
    // Enriched as they were created.
    await this.outbox.accept(messages);
  }
}

function noop(): void {
  // A settled outcome is read again by whoever returns it.
}

/** Subscribes `observer` to `source`; bound to a call's async context, it subscribes in that context. */
function subscribeTo(source: Observable<unknown>, observer: Partial<Observer<unknown>>): Subscription {
  return source.subscribe(observer);
}

/** `Class.method` of every `@MessagePattern`/`@EventPattern` handler that also carries `@EmitsMessage()`. */
function emittingPatternHandlers(modules: ModulesContainer): string[] {
  const found: string[] = [];
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const prototype = (wrapper.metatype as { prototype?: object } | null | undefined)?.prototype;
      if (prototype === undefined) continue;
      for (const key of Object.getOwnPropertyNames(prototype)) {
        const method = Object.getOwnPropertyDescriptor(prototype, key)?.value as unknown;
        if (typeof method !== 'function') continue;
        if (Reflect.hasMetadata(PATTERN_METADATA, method) && Reflect.hasMetadata(EMITS_MESSAGE_METADATA, method)) {
          found.push(`${wrapper.name}.${key}`);
        }
      }
    }
  }
  return found;
}
