import { AsyncLocalStorage } from 'node:async_hooks';
import type { ExecutionContext } from '@nestjs/common';
import { CLS_CTX, CLS_REQ, ClsService, type ClsStore } from 'nestjs-cls';
import { MessagingContextError } from '../kernel/messaging.errors.js';
import { missingContextError } from './missing-context.error.js';

const contextOf = (type: string) => ({ getType: () => type }) as unknown as ExecutionContext;

describe('missingContextError', () => {
  const cls = new ClsService(new AsyncLocalStorage<ClsStore>());

  it('outside any async context: names it, lists the handlers that have one, and says to use run()', () => {
    const error = missingContextError('.cron', cls);
    expect(error).toBeInstanceOf(MessagingContextError);
    expect(error.message).toContain('Cannot add a message on topic ".cron": no message context is open here');
    expect(error.message).toContain('outside any request');
    expect(error.message).toContain('@MessagePattern/@EventPattern');
    expect(error.message).toContain('messageQueue.run(');
  });

  it.each(['http', 'rpc', 'ws', 'graphql'])(
    'in a %s request before its handler (nestjs-cls saved the context): names the type and says where to add',
    (type) => {
      const message = cls.run(() => {
        cls.set(CLS_CTX, contextOf(type));
        return missingContextError('.early', cls).message;
      });
      expect(message).toContain(`runs in a request of type "${type}" before or outside its handler`);
      expect(message).toContain('Add messages from the handler or a service it calls');
    },
  );

  it('in ClsMiddleware (a request object, no saved context): a request of type "http"', () => {
    const message = cls.run(() => {
      cls.set(CLS_REQ, {});
      return missingContextError('.middleware', cls).message;
    });
    expect(message).toContain('runs in a request of type "http"');
  });

  it("in the application's own ClsService.run(): says so and points to messageQueue.run()", () => {
    const message = cls.run(() => missingContextError('.own', cls).message);
    expect(message).toContain('nestjs-cls context without a message batch');
    expect(message).toContain('messageQueue.run(');
  });
});
