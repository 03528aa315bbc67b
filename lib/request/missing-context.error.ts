import type { ExecutionContext } from '@nestjs/common';
import { CLS_CTX, CLS_REQ, type ClsService } from 'nestjs-cls';
import { MessagingContextError } from '../kernel/messaging.errors.js';

const RUN = 'wrap the work in messageQueue.run(async () => { ... }): what it adds is sent when it resolves';

/**
 * The `MessagingContextError` for an `add()` where no message batch is open:
 * names what the call ran in (no async context at all, a nestjs-cls context
 * of an HTTP, RPC, WebSocket or GraphQL request, or one of the app's own
 * `ClsService.run()`), and what to do there. Called only when `add()` fails.
 */
export function missingContextError(topic: string, cls: ClsService): MessagingContextError {
  return new MessagingContextError(`Cannot add a message on topic "${topic}": ${whereAndWhat(cls)}.`);
}

function whereAndWhat(cls: ClsService): string {
  if (!cls.isActive()) {
    return (
      'no message context is open here: this code runs outside any request (start-up code, a cron job, a queue ' +
      `consumer, a timer or an event listener). Handlers of HTTP requests, microservice @MessagePattern/@EventPattern ` +
      `and WebSocket @SubscribeMessage get one from MessagingModule; elsewhere ${RUN}`
    );
  }
  const saved = cls.get<ExecutionContext | undefined>(CLS_CTX);
  const type = saved?.getType<string>() ?? (cls.get<unknown>(CLS_REQ) === undefined ? undefined : 'http');
  if (type === undefined) {
    return (
      "this code runs in a nestjs-cls context without a message batch (the application's own ClsService.run(), " +
      `or a context opened by ClsModule before the handler). If it is not part of a request handler, ${RUN}`
    );
  }
  return (
    `this code runs in a request of type "${type}" before or outside its handler (middleware, a guard, a pipe, an ` +
    `interceptor bound ahead of MessagingInterceptor, or work the handler did not await), where the request's ` +
    `batch is not open. Add messages from the handler or a service it calls (use @EmitsMessage() for one built ` +
    `from the result), or ${RUN}`
  );
}
