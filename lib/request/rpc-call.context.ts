import type { ExecutionContext } from '@nestjs/common';

/**
 * The execution context of one microservice call as the transport delivered
 * it (`[data, transportContext]`), before Nest's enhancers run: the type is
 * `'rpc'`, the controller is unknown (`getClass()` is `Object`) and
 * `getHandler()` is the transport-level handler. Enrichers read it through
 * `switchToRpc()` like any RPC context; its HTTP and WebSocket hosts return
 * `undefined` (internal).
 */
export function rpcCallContext(args: unknown[], handler: (...args: never[]) => unknown): ExecutionContext {
  const none = (): undefined => undefined;
  const context = {
    getType: () => 'rpc',
    getClass: () => Object,
    getHandler: () => handler,
    getArgs: () => args,
    getArgByIndex: (index: number) => args[index],
    switchToRpc: () => ({ getData: () => args[0], getContext: () => args[1] }),
    switchToHttp: () => ({ getRequest: none, getResponse: none, getNext: none }),
    switchToWs: () => ({ getClient: none, getData: none, getPattern: () => '' }),
  };
  // The interface's methods are generic in what the caller expects; these return what a transport gave.
  return context as unknown as ExecutionContext;
}
