import {
  Controller,
  Injectable,
  Post,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { Ctx, EventPattern, MessagePattern, Payload, RmqContext, RpcException } from '@nestjs/microservices';
import { EmitsMessage, MessageQueue } from 'nestjs-messaging';
import { sleep } from './wait-for.js';

/** An interceptor of the handler's own: with any, Nest runs the handler only when the reply is subscribed. */
@Injectable()
export class PassThroughInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

/** What the RMQ event handler saw of each delivery: the publisher's message id and RabbitMQ's redelivered flag. */
export interface SeenDelivery {
  readonly messageId: unknown;
  readonly redelivered: boolean;
}

/**
 * Microservice handlers that add messages (shared case 11 and more): an
 * event, two events with two handlers each (one fails), a request that answers, a request that fails, one with
 * `@EmitsMessage()`, and RabbitMQ handlers that ack/nack themselves
 * (`noAck: false`). The HTTP route makes the app a hybrid one.
 */
@Controller()
export class OrdersRpcController {
  readonly deliveries: SeenDelivery[] = [];

  constructor(private readonly messages: MessageQueue) {}

  @EventPattern('order_created')
  async onCreated(@Payload() data: { id: number }): Promise<void> {
    await sleep(5); // a message added after an await still belongs to this call
    this.messages.add('.orders.created', { id: data.id });
  }

  @MessagePattern('sum')
  @UseInterceptors(PassThroughInterceptor)
  async sum(@Payload() data: { a: number; b: number }): Promise<number> {
    await sleep(5);
    this.messages.add('.sums', { total: data.a + data.b });
    return data.a + data.b;
  }

  @MessagePattern('fail')
  async fail(@Payload() data: { id: number }): Promise<never> {
    this.messages.add('.should-not-leave', { id: data.id });
    await sleep(5);
    throw new RpcException('nope');
  }

  @MessagePattern('product')
  @EmitsMessage('.products.computed', { body: (product: number) => ({ product }) })
  product(@Payload() data: { a: number; b: number }): number {
    return data.a * data.b;
  }

  /** Two handlers of one event (a chain): this one succeeds after the other one failed. */
  @EventPattern('order_paid')
  async onPaidRecord(@Payload() data: { id: number }): Promise<void> {
    await sleep(50);
    this.messages.add('.payments.recorded', { id: data.id });
  }

  @EventPattern('order_paid')
  onPaidInvoice(@Payload() data: { id: number }): void {
    this.messages.add('.invoices.requested', { id: data.id });
    throw new Error('invoice service unavailable');
  }

  /** The other way round: the first handler of the chain fails, the second succeeds later. */
  @EventPattern('order_shipped')
  onShippedLabel(@Payload() data: { id: number }): void {
    this.messages.add('.labels.printed', { id: data.id });
    throw new Error('label printer offline');
  }

  @EventPattern('order_shipped')
  async onShippedNotify(@Payload() data: { id: number }): Promise<void> {
    await sleep(50);
    this.messages.add('.customers.notified', { id: data.id });
  }

  /** Fails its first delivery (requeued by the nack), succeeds on the redelivery. */
  @EventPattern('stock_changed')
  onStockChanged(@Payload() data: { sku: string }, @Ctx() rmqContext: unknown): void {
    const context = rmqContext as RmqContext; // @EventPattern types further parameters as unknown
    const message = context.getMessage() as { fields: { redelivered: boolean }; properties: { messageId?: unknown } };
    const channel = context.getChannelRef() as {
      ack(m: unknown): void;
      nack(m: unknown, all: boolean, requeue: boolean): void;
    };
    this.deliveries.push({ messageId: message.properties.messageId, redelivered: message.fields.redelivered });
    this.messages.add('.stock.changed', { sku: data.sku });
    if (!message.fields.redelivered) {
      channel.nack(message, false, true);
      throw new Error('stock store unavailable');
    }
    channel.ack(message);
  }

  /** Always fails; the event is dropped (nack without requeue). */
  @EventPattern('stock_broken')
  onStockBroken(@Payload() data: { sku: string }, @Ctx() rmqContext: unknown): void {
    const context = rmqContext as RmqContext;
    this.messages.add('.stock.broken', { sku: data.sku });
    (context.getChannelRef() as { nack(m: unknown, all: boolean, requeue: boolean): void }).nack(
      context.getMessage(),
      false,
      false,
    );
    throw new Error('cannot process');
  }

  /** Acks and answers over RabbitMQ. */
  @MessagePattern('rmq_sum')
  rmqSum(@Payload() data: { a: number; b: number }, @Ctx() context: RmqContext): number {
    this.messages.add('.rmq.sums', { total: data.a + data.b });
    (context.getChannelRef() as { ack(m: unknown): void }).ack(context.getMessage());
    return data.a + data.b;
  }

  @Post('http')
  http(): object {
    this.messages.add('.http', {});
    return {};
  }
}
