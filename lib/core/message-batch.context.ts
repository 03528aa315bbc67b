import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { MessageBatch } from './message-batch.js';
import { BATCH_KEY } from './messaging.constants.js';

type Store = Record<symbol, unknown>;

/**
 * Keeps the current `MessageBatch` in the nestjs-cls context. Reuses a
 * context the application already opened (ClsMiddleware, ClsGuard, ...),
 * opens one otherwise, so it works with or without the app's own ClsModule.
 */
@Injectable()
export class MessageBatchContext {
  constructor(private readonly cls: ClsService) {}

  /** The batch of the request or `run()` this code is part of, if any. */
  current(): MessageBatch | undefined {
    const store = this.cls.get() as Store | undefined;
    return store?.[BATCH_KEY] as MessageBatch | undefined;
  }

  /** Runs `fn` with `batch` as the current batch. */
  runWith<T>(batch: MessageBatch, fn: () => T): T {
    const store = this.cls.get() as Store | undefined;
    if (store !== undefined && store[BATCH_KEY] === undefined) {
      // One context per request already exists: join it, which costs nothing.
      store[BATCH_KEY] = batch;
      return fn();
    }
    // No context, or one that already has a batch (nested run): a child
    // context that inherits the app's values keeps the two batches apart.
    return this.cls.runWith({ ...store, [BATCH_KEY]: batch }, fn);
  }
}
