import { Controller, Post } from '@nestjs/common';
import { MessageQueue } from 'nestjs-messaging';

/** `POST /one` adds one message on `.one`: the smallest handler that sends. */
@Controller()
export class OneMessageController {
  constructor(private readonly messages: MessageQueue) {}

  @Post('one')
  one(): object {
    this.messages.add('.one', {});
    return {};
  }
}
