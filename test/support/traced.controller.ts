import { Controller, Post } from '@nestjs/common';
import { EmitsMessage, MessageQueue } from 'nestjs-messaging';

/** Routes that add messages in the ways an app does, for the tracing tests. */
@Controller()
export class TracedController {
  constructor(private readonly messages: MessageQueue) {}

  /** `POST /traced` adds `.traced.added` and announces `.traced.emitted` (@EmitsMessage). */
  @Post('traced')
  @EmitsMessage('.traced.emitted')
  traced(): object {
    this.messages.add('.traced.added', { n: 1 });
    return { done: true };
  }

  /** `POST /custom-context` adds a message that brings its own `traceparent`. */
  @Post('custom-context')
  custom(): object {
    this.messages.add('.traced.custom', {}, { headers: { traceparent: CUSTOM_TRACEPARENT } });
    return {};
  }
}

/** A creation context set by the application itself. */
export const CUSTOM_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
