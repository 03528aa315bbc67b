import type { InjectionToken, Type } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';

/** A factory with its dependencies, the `{ useFactory, inject }` form of an option. */
interface PluggableFactory<T> {
  useFactory: (...dependencies: never[]) => T | Promise<T>;
  inject?: InjectionToken[];
}

/**
 * Builds what a class / factory / instance option describes (the messenger,
 * the outbox store). Classes are instantiated through the module's injector
 * so they can inject config, loggers and the like.
 */
export async function resolvePluggable<T extends object>(
  option: Type<T> | PluggableFactory<T> | T | undefined,
  fallback: () => T,
  moduleRef: ModuleRef,
): Promise<T> {
  if (option === undefined) return fallback();
  if (typeof option === 'function') return moduleRef.create(option);
  if ('useFactory' in option) {
    const dependencies = (option.inject ?? []).map((token) => moduleRef.get<unknown, never>(token, { strict: false }));
    return option.useFactory(...dependencies);
  }
  return option;
}
