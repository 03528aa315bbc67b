import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ApplicationConfig, DiscoveryService, ModuleRef } from '@nestjs/core';
import { ClsInterceptor } from 'nestjs-cls';
import { MessageBatchContext } from './message-batch.context.js';

/** `@nestjs/common`'s metadata key of `@UseInterceptors()` on a class or method. */
const INTERCEPTORS_METADATA = '__interceptors__';

const isClsInterceptor = (interceptor: unknown): boolean =>
  interceptor === ClsInterceptor || interceptor instanceof ClsInterceptor;

/**
 * Finds out at start-up whether nestjs-cls's `ClsInterceptor` can run in this application (mounted
 * globally by `ClsModule.forRoot({ interceptor: { mount: true } })` or `useGlobalInterceptors()`, or
 * bound with `@UseInterceptors(ClsInterceptor)` on a controller, resolver or method), and tells
 * `MessageBatchContext` (internal). Only then does a request's context have to be registered for
 * it, in nestjs-cls's `ContextClsStoreMap`: a WeakMap keyed by the request, which costs tens of µs
 * of garbage collection per request (issue 19).
 */
@Injectable()
export class ClsInterceptorDetection implements OnApplicationBootstrap {
  constructor(
    private readonly batches: MessageBatchContext,
    private readonly discovery: DiscoveryService,
    private readonly moduleRef: ModuleRef,
  ) {}

  onApplicationBootstrap(): void {
    this.batches.registerForClsInterceptor(this.globalOne() || this.boundOne());
  }

  private globalOne(): boolean {
    let config: ApplicationConfig;
    try {
      config = this.moduleRef.get(ApplicationConfig, { strict: false });
    } catch {
      // Not found: cannot tell, so assume there is one.
      return true;
    }
    return config.getGlobalInterceptors().some(isClsInterceptor);
  }

  private boundOne(): boolean {
    for (const wrapper of [...this.discovery.getControllers(), ...this.discovery.getProviders()]) {
      const type: unknown = wrapper.metatype;
      if (typeof type !== 'function') continue;
      if (bindsClsInterceptor(type)) return true;
      const prototype = (type as { prototype?: object }).prototype;
      if (prototype === undefined) continue;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const method = Object.getOwnPropertyDescriptor(prototype, name)?.value as unknown;
        if (typeof method === 'function' && bindsClsInterceptor(method)) return true;
      }
    }
    return false;
  }
}

function bindsClsInterceptor(target: object): boolean {
  const bound = Reflect.getMetadata(INTERCEPTORS_METADATA, target) as readonly unknown[] | undefined;
  return bound?.some(isClsInterceptor) === true;
}
