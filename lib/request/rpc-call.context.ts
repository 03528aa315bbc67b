import type { ContextType, ExecutionContext, Type } from '@nestjs/common';

type Arguments = ReturnType<ExecutionContext['getArgs']>;
type HttpHost = ReturnType<ExecutionContext['switchToHttp']>;
type RpcHost = ReturnType<ExecutionContext['switchToRpc']>;
type WsHost = ReturnType<ExecutionContext['switchToWs']>;

/**
 * The execution context of one microservice call as the transport delivered
 * it (`[data, transportContext]`), before Nest's enhancers run: the type is
 * `'rpc'`, the controller is unknown (`getClass()` is `Object`) and
 * `getHandler()` is the transport-level handler. Enrichers read it through
 * `switchToRpc()` like any RPC context (internal).
 */
export class RpcCallContext implements ExecutionContext {
  constructor(
    private readonly args: Arguments,
    private readonly handler: (...args: never[]) => unknown,
  ) {}

  getType<TContext extends string = ContextType>(): TContext {
    return 'rpc' as TContext;
  }
  getClass<T = unknown>(): Type<T> {
    return Object as unknown as Type<T>;
  }
  getHandler(): (...args: never[]) => unknown {
    return this.handler;
  }
  getArgs<T extends Arguments = Arguments>(): T {
    return this.args as T;
  }
  getArgByIndex<T = unknown>(index: number): T {
    return this.args[index] as T;
  }
  switchToRpc(): RpcHost {
    return {
      getData: <T>() => this.args[0] as T,
      getContext: <T>() => this.args[1] as T,
    } as RpcHost;
  }
  switchToHttp(): HttpHost {
    return { getRequest: () => undefined, getResponse: () => undefined, getNext: () => undefined } as unknown as HttpHost;
  }
  switchToWs(): WsHost {
    return { getClient: () => undefined, getData: () => undefined, getPattern: () => '' } as unknown as WsHost;
  }
}
