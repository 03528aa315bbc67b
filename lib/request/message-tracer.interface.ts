import type { Message } from '../kernel/message.interface.js';

/**
 * Optional provider (registered by `MessagingTelemetryModule` when tracing is on; internal token):
 * `MessageQueue.add()` and `@EmitsMessage()` hand each new message to it, in the caller's async
 * context, before it joins its batch. Without it, adding a message costs one check more.
 */
export const MESSAGE_TRACER = Symbol('nestjs-messaging:message-tracer');

/** Starts a message's trace (internal). */
export interface MessageTracer {
  /** The message to queue instead: the same, or a copy carrying its creation context in its headers. */
  created(message: Message): Message;
}
