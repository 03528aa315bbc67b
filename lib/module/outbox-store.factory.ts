import type { InjectionToken, Type } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import type { OutboxStore } from '../kernel/outbox-store.interface.js';
import { resolvePluggable } from './pluggable.js';
import { MemoryOutboxStore } from '../stores/memory-outbox.store.js';

/** A factory that builds the outbox store, with its dependencies injected. */
export interface OutboxStoreFactory {
  /** Builds the store; may be async (open a pool first, for example). */
  useFactory: (...dependencies: never[]) => OutboxStore | Promise<OutboxStore>;
  /** Tokens resolved anywhere in the application and passed to `useFactory`. Default: none. */
  inject?: InjectionToken[];
}

/** How to obtain the outbox store: a class (instantiated with dependency injection), a factory, or a ready instance. */
export type OutboxStoreOption = Type<OutboxStore> | OutboxStoreFactory | OutboxStore;

/** Builds the configured outbox store; the default is a `MemoryOutboxStore` with its default bound. */
export function createOutboxStore(option: OutboxStoreOption | undefined, moduleRef: ModuleRef): Promise<OutboxStore> {
  return resolvePluggable<OutboxStore>(option, () => new MemoryOutboxStore(), moduleRef);
}
