import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Message } from '../../kernel/message.interface.js';
import { MessengerUnavailableError } from '../../kernel/messaging.errors.js';
import type { MessengerState, StatefulMessenger } from '../../kernel/messenger-state.js';
import { FedoraMessagingConnection, type FedoraMessagingLog, type OpenChannel } from './fedora-messaging.connection.js';
import type {
  FedoraMessagingMessengerOptions,
  ResolvedFedoraMessagingOptions,
} from './fedora-messaging-options.interface.js';
import { resolveFedoraMessagingOptions } from './fedora-messaging-options.validation.js';
import { FedoraMessagingSendError, type FedoraMessagingFailure } from './fedora-messaging.errors.js';
import { fedoraMessagingFailure as failure } from './fedora-messaging.failure.js';
import { fedoraMessagingRoutingKey, sentAt, toFedoraMessagingPublish } from './fedora-messaging.wire-format.js';
import { loadAmqplib } from './load-amqplib.js';

const STARTING: MessengerState = { status: 'starting', since: new Date() };

/**
 * Publishes to Fedora's message bus as fedora-messaging does: AMQP 0-9-1 to
 * RabbitMQ, `amq.topic`, routing key `<topicPrefix>.<topic>`, the headers and
 * properties fedora-messaging consumers read (see `toFedoraMessagingPublish`).
 * Needs the `amqplib` package (0.10).
 *
 * One long-lived connection with one confirm channel: `send()` resolves only
 * when the broker has confirmed every message of the batch; a nack, an
 * unroutable message (published `mandatory`), a channel the broker closed
 * (403 ACCESS_REFUSED for a topic outside the user's permitted prefix, say)
 * or a timeout rejects with `FedoraMessagingSendError` (partial success);
 * what the broker refuses for good is marked not retryable (dead at once).
 * The channel is re-opened after the broker closed it; the connection
 * re-opened with backoff across `urls` after a drop; a refused login or
 * failed TLS verification shows as `state.status` `refused`, retried every
 * `reconnectDelayMaxMs`. Each topic's messages go out in order, on one channel.
 *
 * @example
 * ```ts
 * MessagingModule.forRoot({
 *   messenger: new FedoraMessagingMessenger(
 *     fedoraMessaging.production({
 *       urls: ['amqps://rabbitmq.example.org/%2Fpubsub'],
 *       app: 'pdc',
 *       caCertificate: '/etc/fedora-messaging/cacert.pem',
 *       certificate: '/etc/fedora-messaging/pdc-cert.pem',
 *       privateKey: '/etc/fedora-messaging/pdc-key.pem',
 *       schema: 'pdc.message',
 *     }),
 *   ),
 * });
 * ```
 */
export class FedoraMessagingMessenger implements StatefulMessenger, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(FedoraMessagingMessenger.name);
  private readonly options: ResolvedFedoraMessagingOptions;
  private readonly sending = new Set<Promise<void>>();
  private connection: FedoraMessagingConnection | undefined;
  private closing = false;

  /** @throws MessagingOptionsError naming every invalid option, unreadable file or mismatched key. */
  constructor(options: FedoraMessagingMessengerOptions) {
    this.options = resolveFedoraMessagingOptions(options);
  }

  /**
   * The connection's state, for health checks: `connected` (to `url`),
   * `reconnecting` (unreachable, `reason`), `refused` (the broker refused the
   * login, `condition` `403`, or TLS verification failed, `condition` `tls`;
   * `reason` gives the broker's or TLS layer's words), `starting` or `stopped`.
   */
  get state(): MessengerState {
    return this.connection?.state ?? STARTING;
  }

  /** Loads amqplib and starts connecting in the background: a broker that is down does not stop the application. */
  async onModuleInit(): Promise<void> {
    const amqp = await loadAmqplib();
    // Through the field, not its value now: a logger set on the instance later is used too.
    const log: FedoraMessagingLog = {
      log: (text) => {
        this.logger.log(text);
      },
      warn: (text) => {
        this.logger.warn(text);
      },
      error: (text) => {
        this.logger.error(text);
      },
    };
    this.connection = new FedoraMessagingConnection(amqp, this.options, log);
    this.connection.channel().catch(() => undefined);
  }

  send(messages: readonly Message[]): Promise<void> {
    if (this.closing)
      return Promise.reject(new MessengerUnavailableError('FedoraMessagingMessenger is shutting down: send() refused'));
    if (!this.connection)
      return Promise.reject(
        new MessengerUnavailableError(
          'FedoraMessagingMessenger is not started: pass it to MessagingModule (Nest calls onModuleInit), or call onModuleInit() yourself',
        ),
      );
    if (messages.length === 0) return Promise.resolve();
    const job = this.sendBatch(this.connection, messages);
    this.sending.add(job);
    const forget = (): void => {
      this.sending.delete(job);
    };
    job.then(forget, forget);
    return job;
  }

  /** Lets sends in flight settle (each within `sendTimeoutMs`), then closes the channel and the connection. */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.sending]);
    await this.connection?.close();
  }

  private async sendBatch(connection: FedoraMessagingConnection, messages: readonly Message[]): Promise<void> {
    const open = await connection.channel();
    if (connection.blocked !== undefined)
      throw new MessengerUnavailableError(`fedora-messaging: ${connection.blocked}; send() refused`, { logged: true });
    const stamp = sentAt(new Date());
    const { exchange, mandatory, sendTimeoutMs, topics, wire } = this.options;
    const routingKeys: string[] = [];
    const settled: (Error | null | FedoraMessagingFailure | undefined)[] = new Array<
      Error | null | FedoraMessagingFailure | undefined
    >(messages.length);
    // One counter instead of a promise per message: this runs for every message sent.
    let pending = 1;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const settle = (index: number, outcome: Error | null): void => {
      if (settled[index] !== undefined) return;
      settled[index] = outcome;
      if (--pending === 0) finish();
    };
    // Every message is published now, without awaiting in between: a batch sent concurrently
    // must not slip a later message of a topic ahead of this one.
    messages.forEach((message, index) => {
      const settings = (topics.size > 0 && topics.get(message.topic.replace(/^\.+|\.+$/g, ''))) || wire;
      const publish = toFedoraMessagingPublish(message, settings, stamp);
      if ('invalid' in publish) {
        routingKeys[index] = fedoraMessagingRoutingKey(settings.topicPrefix, message.topic);
        settled[index] = failure(message, routingKeys[index], 'invalid', publish.invalid, true);
        return;
      }
      routingKeys[index] = publish.routingKey;
      pending++;
      try {
        const { properties } = publish;
        const options = {
          contentType: properties.contentType,
          contentEncoding: properties.contentEncoding,
          deliveryMode: properties.deliveryMode,
          messageId: properties.messageId,
          priority: properties.priority,
          headers: properties.headers,
          mandatory,
        };
        open.channel.publish(exchange, publish.routingKey, publish.content, options, (error) => {
          settle(index, error as Error | null);
        });
      } catch (error) {
        if (open.closed) settle(index, error as Error);
        else {
          // amqplib queued the confirm callback before it failed to encode: confirms would now land
          // on the wrong messages, so the channel goes (the next batch opens a new one).
          settled[index] = failure(message, routingKeys[index], 'invalid', (error as Error).message, true);
          pending--;
          open.closed = { reply: `closed after a publish failed: ${(error as Error).message}`, connectionLost: false };
          open.channel.close().catch(() => undefined);
        }
      }
    });
    const settleAll = (error: Error): void => {
      messages.forEach((_, index) => {
        settle(index, error);
      });
    };
    const timer = setTimeout(() => {
      settleAll(new Error(`no confirm within ${sendTimeoutMs} ms`));
    }, sendTimeoutMs);
    // No confirm comes on a closed channel: what amqplib left unsettled is settled now, not at the timeout.
    const closed = (): void => {
      settleAll(new Error('channel closed'));
    };
    if (open.closed) closed();
    else open.onClose.add(closed);
    if (--pending === 0) finish();
    await done;
    clearTimeout(timer);
    open.onClose.delete(closed);
    // Blocked by the broker (a resource alarm): no confirm was due, so a timeout is not the message's fault.
    const blocked = connection.blocked;
    const results = messages.map((message, index) => {
      const outcome = settled[index];
      return outcome instanceof Error || outcome === null
        ? this.outcome(open, message, routingKeys[index], outcome, blocked)
        : outcome;
    });
    const failures = results.filter((result) => result !== undefined);
    if (failures.length === 0) return;
    const failed = new Set(failures.map(({ messageId }) => messageId));
    const accepted = messages.filter(({ id }) => !failed.has(id)).map(({ id }) => id);
    throw new FedoraMessagingSendError(open.url, failures, accepted, blocked);
  }

  private outcome(
    open: OpenChannel,
    message: Message,
    routingKey: string,
    error: Error | null,
    blocked: string | undefined,
  ): FedoraMessagingFailure | undefined {
    const returned = open.returned.get(message.id);
    open.returned.delete(message.id);
    if (error === null)
      return returned === undefined
        ? undefined
        : failure(message, routingKey, 'returned', `unroutable: ${returned}`, true);
    if (error.message === 'message nacked') return failure(message, routingKey, 'nack', 'the broker nacked it', true);
    if (/^no confirm within/.test(error.message))
      return blocked === undefined
        ? failure(message, routingKey, 'timeout', error.message, true)
        : failure(message, routingKey, 'timeout', `${error.message}: ${blocked}`, false);
    const closed = open.closed ?? { reply: error.message, connectionLost: false };
    if (closed.connectionLost) return failure(message, routingKey, 'connection-lost', closed.reply, false);
    // The broker names the routing key it refused: that message counts, the others were caught up in it.
    return failure(message, routingKey, 'channel-closed', closed.reply, closed.reply.includes(`'${routingKey}'`));
  }
}
