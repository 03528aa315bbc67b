import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ClsService, ContextClsStoreMap } from 'nestjs-cls';
import type { MessageBatch } from './message-batch.js';
import { missingContextError } from './missing-context.error.js';
import type { MessagingContextError } from '../kernel/messaging.errors.js';
import { BATCH_KEY } from '../kernel/messaging.constants.js';

type Store = Record<symbol, unknown>;

/**
 * Keeps the current `MessageBatch` in the nestjs-cls context. Joins a
 * context the application already opened (ClsMiddleware, ClsGuard, ...),
 * opens one otherwise, so it works with or without the app's own ClsModule.
 */
@Injectable()
export class MessageBatchContext {
  // Until ClsInterceptorDetection knows better (at start-up): register, as nestjs-cls's interceptor may run.
  private forClsInterceptor = true;

  constructor(private readonly cls: ClsService) {}

  /**
   * Whether nestjs-cls's `ClsInterceptor` can run in this application: only then is the context this
   * opens for a request registered for it (see `runWith()`), which costs garbage collection time.
   */
  registerForClsInterceptor(needed: boolean): void {
    this.forClsInterceptor = needed;
  }

  /** The batch of the request or `run()` this code is part of, if any. */
  current(): MessageBatch | undefined {
    const store = this.cls.get() as Store | undefined;
    return store?.[BATCH_KEY] as MessageBatch | undefined;
  }

  /** The error for an `add()` on `topic` where `current()` is undefined, naming what the call runs in. */
  missing(topic: string): MessagingContextError {
    return missingContextError(topic, this.cls);
  }

  /**
   * Runs `fn` with `batch` as the current batch. `context` is the request's
   * execution context, when there is one.
   */
  runWith<T>(batch: MessageBatch, fn: () => T, context?: ExecutionContext): T {
    const store = this.cls.get() as Store | undefined;
    if (store !== undefined && store[BATCH_KEY] === undefined) {
      // One context per request already exists: join it, which costs nothing.
      store[BATCH_KEY] = batch;
      return fn();
    }
    // No context, or one that already has a batch (nested run): a child
    // context that inherits the app's values keeps the two batches apart.
    const child: Store = { ...store, [BATCH_KEY]: batch };
    // nestjs-cls's own ClsInterceptor, if it runs after us for this request, takes the store
    // registered here instead of starting an empty one. (Its guard and middleware run before us.)
    if (this.forClsInterceptor && store === undefined && context !== undefined) ContextClsStoreMap.set(context, child);
    return this.cls.runWith(child, fn);
  }
}
