import type { ExecutionContext } from '@nestjs/common';
import { graphqlRequestOf } from './graphql-request.js';

/** What a WebSocket client object may carry of its handshake. */
interface SocketLike {
  /** socket.io: the handshake's `IncomingMessage`; with the `ws` adapter, set by the gateway (see README). */
  readonly request?: unknown;
}

/**
 * The HTTP request the default enricher reads `author` and `comment` from:
 * for HTTP the request itself; for a WebSocket message the connection's
 * handshake request (socket.io keeps it as `client.request`; with the `ws`
 * adapter, the gateway stores it there in `handleConnection(client, request)`);
 * for a GraphQL resolver the HTTP request behind its GraphQL context; `undefined` for other transports or a client without one.
 */
export function requestOf(context: ExecutionContext): unknown {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest<unknown>();
  if (type === 'ws') return context.switchToWs().getClient<SocketLike | undefined>()?.request;
  if (type === 'graphql') return graphqlRequestOf(context);
  return undefined;
}
