import type { ExecutionContext } from '@nestjs/common';
import type { MessageHeaders } from '../kernel/message.interface.js';
import { EMITS_MESSAGE_METADATA } from '../kernel/messaging.constants.js';
import { assertValidTopic } from '../kernel/topic.validation.js';

/** Options of `@EmitsMessage()`. */
export interface EmitsMessageOptions<TResult = unknown> {
  /**
   * Builds the message body from the handler's result.
   * Default: the result itself, which must then be a JSON object.
   */
  body?: (result: TResult, context: ExecutionContext) => object;
  /** Headers of the message. Default: none. */
  headers?: MessageHeaders;
  /**
   * The ordering key (see `AddMessageOptions.key`), or a function of the handler's result that
   * returns it (for example the id of the entity the message is about). Default: the topic.
   */
  key?: string | null | ((result: TResult, context: ExecutionContext) => string | null);
  /** Delay of the message's first attempt, in ms (see `AddMessageOptions.delay`). Default: `0`. */
  delay?: number;
}

/** What `@EmitsMessage()` records on a handler. */
export interface EmitsMessageMetadata {
  readonly topic: string;
  readonly options: EmitsMessageOptions<never>;
}

/**
 * Adds a message on `topic` when the decorated handler succeeds, built from
 * its result (for a stream, its last value). It is sent with the request's
 * other messages, after them, and like them only if the request succeeds.
 * Stack it to emit several messages.
 *
 * @example
 * ```ts
 * @Post()
 * @EmitsMessage('.compose', {
 *   body: (compose: Compose) => ({ action: 'create', compose_id: compose.id }),
 * })
 * create(@Body() dto: CreateComposeDto): Compose { ... }
 * ```
 * @throws InvalidTopicError when the application loads, for an invalid topic.
 */
export function EmitsMessage<TResult = unknown>(
  topic: string,
  options: EmitsMessageOptions<TResult> = {},
): MethodDecorator {
  assertValidTopic(topic);
  const entry: EmitsMessageMetadata = { topic, options: options };
  return (_target, _key, descriptor: PropertyDescriptor) => {
    const handler = descriptor.value as object;
    const existing = (Reflect.getMetadata(EMITS_MESSAGE_METADATA, handler) ?? []) as EmitsMessageMetadata[];
    // Decorators apply bottom-up; prepend so messages follow reading order.
    Reflect.defineMetadata(EMITS_MESSAGE_METADATA, [entry, ...existing], handler);
    return descriptor;
  };
}
