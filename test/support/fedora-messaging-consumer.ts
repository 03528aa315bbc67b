import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import amqplib, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';

/**
 * An AMQP 0-9-1 consumer, as a fedora-messaging consumer is: an exclusive
 * queue bound to `exchange` with `bindingKey` (plus, optionally, a headers
 * exchange bound to the same queue), recording every delivery in order.
 */
export class FedoraMessagingConsumer {
  readonly received: ConsumeMessage[] = [];
  queue = `fm-test-${randomUUID()}`;
  private connection: ChannelModel | undefined;

  /** Message ids received so far, in order. */
  ids(): string[] {
    return this.received.map(({ properties }) => String(properties.messageId));
  }

  async start(
    url: string,
    bindingKey: string,
    options: {
      /** Read this existing queue instead of declaring and binding one. */
      existingQueue?: string;
      exchange?: string;
      headersExchange?: { name: string; match: Record<string, unknown> };
      durable?: boolean;
    } = {},
  ): Promise<this> {
    this.connection = await amqplib.connect(url);
    const channel = await this.connection.createChannel();
    if (options.existingQueue !== undefined) this.queue = options.existingQueue;
    else await this.declare(channel, bindingKey, options);
    await channel.consume(
      this.queue,
      (message) => {
        if (message) this.received.push(message);
      },
      { noAck: true },
    );
    return this;
  }

  private async declare(
    channel: Channel,
    bindingKey: string,
    options: {
      exchange?: string;
      headersExchange?: { name: string; match: Record<string, unknown> };
      durable?: boolean;
    },
  ): Promise<void> {
    await channel.assertQueue(this.queue, { exclusive: !options.durable, durable: options.durable ?? false });
    await channel.bindQueue(this.queue, options.exchange ?? 'amq.topic', bindingKey);
    if (options.headersExchange) {
      await channel.assertExchange(options.headersExchange.name, 'headers', { durable: false, autoDelete: true });
      await channel.bindQueue(this.queue, options.headersExchange.name, '', {
        'x-match': 'all',
        ...options.headersExchange.match,
      });
    }
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
  }
}

/** Runs rabbitmqctl against the machine's shared node (users, vhosts, topic permissions for one test). */
export async function sharedNodeCtl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('rabbitmqctl', ['-q', ...args]);
  return stdout;
}
