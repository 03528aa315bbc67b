import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Injectable,
  Post,
  Res,
  Sse,
  type MessageEvent,
} from '@nestjs/common';
import { interval, map, take, type Observable } from 'rxjs';
import { EmitsMessage, MessageQueue } from 'nestjs-messaging';

/** A service a few awaits away from the handler, as real code is. */
@Injectable()
export class AuditService {
  constructor(private readonly messages: MessageQueue) {}

  async record(kind: string, payload: object): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    await Promise.resolve();
    this.messages.add(`.audit.${kind}`, payload);
  }
}

/** Handlers that exercise each branch of the request cycle. */
@Controller()
export class CycleController {
  constructor(
    private readonly messages: MessageQueue,
    private readonly audit: AuditService,
  ) {}

  /** Answers with what add() returned, to compare with what was sent. */
  @Post('returns-added')
  returnsAdded(): { returned: object } {
    const first = this.messages.add('.items.first', { value: 1 });
    this.messages.add('.items.second', { value: 2 });
    return { returned: first.body };
  }

  @Post('ok')
  async ok(@Body() body: { value: string }): Promise<{ done: boolean }> {
    this.messages.add('.items.added', { value: body.value });
    await this.audit.record('added', { value: body.value });
    return { done: true };
  }

  @Post('throws')
  throws(): never {
    this.messages.add('.items.added', { value: 'lost' });
    throw new BadRequestException('nope');
  }

  @Post('http-code-4xx')
  @HttpCode(422)
  httpCode4xx(): { queued: number } {
    this.messages.add('.items.added', { value: 'lost' });
    return { queued: this.messages.pending.length };
  }

  @Post('sets-status-4xx')
  setsStatus4xx(
    @Res({ passthrough: true }) response: { status(code: number): unknown; code?(code: number): unknown },
  ): object {
    this.messages.add('.items.added', { value: 'lost' });
    // Express responses have status(); Fastify replies have code() (and status()).
    if (typeof response.code === 'function') response.code(409);
    else response.status(409);
    return { conflict: true };
  }

  @Post('accepted')
  @HttpCode(202)
  accepted(): object {
    this.messages.add('.items.accepted', { value: 'kept' });
    return {};
  }

  @Post('mutates')
  mutates(): object {
    const body = { count: 1, nested: { list: [1] } };
    this.messages.add('.items.mutated', body);
    body.count = 2;
    body.nested.list.push(2);
    return body;
  }

  @Post('bad-body')
  badBody(): object {
    this.messages.add('.items.bad', { items: [{}, {}, {}, { size: BigInt(3) }] });
    return {};
  }

  @Post('bad-topic')
  badTopic(): object {
    this.messages.add('.items.*', {});
    return {};
  }

  @Post('emits')
  @EmitsMessage('.things.created')
  @EmitsMessage('.things.summary', { body: (result: { id: number }) => ({ id: result.id, summary: true }) })
  emits(): { id: number } {
    this.messages.add('.things.before', {});
    return { id: 7 };
  }

  @Post('emits-array')
  @EmitsMessage('.things.listed')
  emitsArray(): number[] {
    return [1, 2];
  }

  @Get('nothing')
  nothing(): object {
    return { ok: true };
  }

  @Sse('stream')
  stream(): Observable<MessageEvent> {
    return interval(5).pipe(
      take(3),
      map((index) => {
        this.messages.add('.stream.tick', { index });
        return { data: { index } };
      }),
    );
  }
}
