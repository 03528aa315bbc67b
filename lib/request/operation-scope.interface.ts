import type { ExecutionContext } from '@nestjs/common';
import type { Message } from '../kernel/message.interface.js';

/**
 * Optional provider (registered by `MessagingGraphQLModule`, internal token) for handlers that are
 * parts of a larger operation: the resolvers of one GraphQL operation. When it knows the operation
 * a handler belongs to, the interceptor gives the handler's messages to it on success instead of
 * to the outbox; the operation sends them once, when it ends.
 */
export const OPERATION_SCOPES = Symbol('nestjs-messaging:operation-scopes');

/** The operations handlers belong to (internal). */
export interface OperationScopes {
  /** The open operation the handler of `context` is part of, if any. */
  operationOf(context: ExecutionContext): OperationScope | undefined;
}

/** One operation collecting the messages of its handlers (internal). */
export interface OperationScope {
  /**
   * Takes the messages of a handler that succeeded, enriched.
   * @throws MessagingError when the operation cannot take them (limit, subscription).
   */
  collect(messages: readonly Message[]): void;
}
