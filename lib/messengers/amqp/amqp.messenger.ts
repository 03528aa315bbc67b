import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Container } from 'rhea';
import type { Message } from '../../kernel/message.interface.js';
import { MessengerUnavailableError } from '../../kernel/messaging.errors.js';
import type { Messenger } from '../../kernel/messenger.interface.js';
import { abandon, connectToAny, type OpenConnection } from './amqp-connect.js';
import { amqpAddress } from './amqp-message.mapper.js';
import type { AmqpMessengerOptions, ResolvedAmqpOptions } from './amqp-options.interface.js';
import { resolveAmqpOptions } from './amqp-options.validation.js';
import { AmqpSenderLink, type InFlight } from './amqp-sender-link.js';
import { AmqpSendError, type AmqpRefusal } from './amqp.errors.js';
import { loadRhea } from './load-rhea.js';

/**
 * Sends messages to any AMQP 1.0 broker with rhea (PDC's RHMsgMessenger):
 * ActiveMQ, Artemis, RabbitMQ, Qpid, Azure Service Bus. One long-lived
 * connection, to a broker chosen in random order among `urls`, re-opened
 * with backoff (failing over to the others) after a drop. Each message is
 * durable, with PDC's application properties; `send()` resolves only when
 * the broker has accepted every message of the batch. Needs the `rhea`
 * package (version 3).
 *
 * @example
 * ```ts
 * MessagingModule.forRoot({
 *   messenger: new AmqpMessenger({
 *     urls: ['amqps://broker01.example.com:5671', 'amqps://broker02.example.com:5671'],
 *     connectionTimeout: 5,
 *     certificate: '/etc/pdc/certificate.pem',
 *     caCertificate: '/etc/pdc/authoritycert.crt',
 *     topicPrefix: 'VirtualTopic.eng.pdc',
 *   }),
 * });
 * ```
 */
export class AmqpMessenger implements Messenger, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(AmqpMessenger.name);
  private readonly options: ResolvedAmqpOptions;
  private container: Container | undefined;
  private current: OpenConnection | undefined;
  private connecting: Promise<OpenConnection> | undefined;
  private readonly links = new Map<string, AmqpSenderLink>();
  private readonly sending = new Set<Promise<void>>();
  private retryDelayMs: number;
  private retryAt = 0;
  private lastFailure: Error | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closing = false;

  /** @throws MessagingOptionsError listing every invalid option, unreadable file or mismatched key. */
  constructor(options: AmqpMessengerOptions) {
    this.options = resolveAmqpOptions(options);
    this.retryDelayMs = this.options.reconnectDelayMs;
  }

  /** The broker URL of the open connection, if any. */
  get connectedTo(): string | undefined {
    return this.current?.target.url;
  }

  /** Loads rhea and starts connecting in the background: a broker that is down does not stop the application. */
  async onModuleInit(): Promise<void> {
    const rhea = await loadRhea();
    this.container = rhea.create_container({ id: this.options.containerId });
    // Errors are handled where they arise; an unhandled 'error' event would end the process.
    this.container.on('error', (error: Error) => {
      this.logger.warn(`AMQP: ${error.message}`);
    });
    this.connection().catch(() => undefined);
  }

  send(messages: readonly Message[]): Promise<void> {
    if (this.closing)
      return Promise.reject(new MessengerUnavailableError('AmqpMessenger is shutting down: send() refused'));
    if (messages.length === 0) return Promise.resolve();
    const job = this.sendBatch(messages);
    this.sending.add(job);
    const forget = (): void => {
      this.sending.delete(job);
    };
    job.then(forget, forget);
    return job;
  }

  /** Lets sends in flight settle (each within `sendTimeoutMs`), then closes the connection. */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    await Promise.allSettled([...this.sending]);
    await this.connecting?.catch(() => undefined);
    for (const link of this.links.values()) link.close();
    this.links.clear();
    const open = this.current;
    this.current = undefined;
    if (open) await closeConnection(open);
  }

  private async sendBatch(messages: readonly Message[]): Promise<void> {
    const open = await this.connection();
    const inFlight: { link: AmqpSenderLink; message: Message; flight: InFlight }[] = [];
    const failures: AmqpRefusal[] = [];
    // Every message is handed to its topic's link now, without awaiting in between: a batch sent
    // concurrently must not slip a later message of a topic ahead of this one.
    for (const message of messages) {
      const link = this.linkFor(open, message.topic);
      inFlight.push({ link, message, flight: link.send(message) });
    }
    const timer = setTimeout(() => {
      for (const { link, flight } of inFlight) {
        if (flight.delivery)
          link.expire(flight.delivery, `the broker did not settle it within ${this.options.sendTimeoutMs} ms`);
      }
    }, this.options.sendTimeoutMs);
    const results = await Promise.all(inFlight.map(({ flight }) => flight.result));
    clearTimeout(timer);
    const acceptedIds: string[] = [];
    results.forEach((failure, index) => {
      if (failure) failures.push(failure);
      else acceptedIds.push(inFlight[index].message.id);
    });
    if (failures.length > 0) throw new AmqpSendError(open.target.url, failures, acceptedIds);
  }

  private linkFor(open: OpenConnection, topic: string): AmqpSenderLink {
    const address = amqpAddress(this.options.address, this.options.topicPrefix, topic);
    let link = this.links.get(address);
    if (link === undefined || !link.usable) {
      link?.close();
      link = new AmqpSenderLink(open.connection, address, this.options.sendTimeoutMs);
      this.links.set(address, link);
    }
    return link;
  }

  /** The open connection, or a new one; fails fast while backing off after a failed attempt. */
  private connection(): Promise<OpenConnection> {
    if (this.current) return Promise.resolve(this.current);
    if (this.connecting) return this.connecting;
    if (this.closing) return Promise.reject(new MessengerUnavailableError('AmqpMessenger is shutting down'));
    if (this.lastFailure && Date.now() < this.retryAt) return Promise.reject(this.lastFailure);
    const container = this.container;
    if (container === undefined) {
      return Promise.reject(
        new MessengerUnavailableError(
          'AmqpMessenger is not started: pass it to MessagingModule (Nest calls onModuleInit), or call onModuleInit() yourself',
        ),
      );
    }
    this.connecting = connectToAny(container, this.options).then(
      (open) => {
        this.connecting = undefined;
        if (this.closing) {
          void closeConnection(open);
          throw new MessengerUnavailableError('AmqpMessenger is shutting down');
        }
        this.adopt(open);
        return open;
      },
      (error: unknown) => {
        this.connecting = undefined;
        this.noteFailure(error instanceof Error ? error : new Error(String(error)));
        throw error;
      },
    );
    return this.connecting;
  }

  private adopt(open: OpenConnection): void {
    const recovered = this.lastFailure !== undefined;
    this.current = open;
    this.lastFailure = undefined;
    this.retryDelayMs = this.options.reconnectDelayMs;
    this.logger.log(`${recovered ? 'Reconnected' : 'Connected'} to ${open.target.url}`);
    open.connection.on('disconnected', (context: { error?: Error }) => {
      this.onLost(open, context.error?.message ?? 'the broker closed the connection');
    });
    open.connection.on('connection_error', (context: { connection: { error?: unknown } }) => {
      const error = context.connection.error as { condition?: string; description?: string } | undefined;
      this.onLost(open, `${error?.condition ?? 'connection error'}: ${error?.description ?? ''}`);
    });
    open.connection.on('connection_close', () => {
      this.onLost(open, 'the broker closed the connection');
    });
    open.connection.on('error', (error: Error) => {
      this.onLost(open, error.message);
    });
  }

  private onLost(open: OpenConnection, reason: string): void {
    if (this.current !== open) return;
    this.current = undefined;
    for (const link of this.links.values()) {
      link.lose(`the connection to ${open.target.url} was lost before the broker settled the message (${reason})`);
    }
    this.links.clear();
    abandon(open.connection);
    if (this.closing) return;
    this.logger.warn(`Lost the connection to ${open.target.url} (${reason}); reconnecting`);
    this.lastFailure = new MessengerUnavailableError(`The connection to ${open.target.url} was lost (${reason})`);
    this.retryAt = 0;
    this.scheduleReconnect(this.options.reconnectDelayMs);
  }

  private noteFailure(error: Error): void {
    const firstFailure = this.lastFailure === undefined || this.retryDelayMs === this.options.reconnectDelayMs;
    this.lastFailure = error;
    this.retryAt = Date.now() + this.retryDelayMs;
    // One line when the brokers become unreachable; later attempts only at debug level.
    if (firstFailure)
      this.logger.warn(`${error.message}; retrying with backoff up to ${this.options.reconnectDelayMaxMs} ms`);
    else this.logger.debug(`Still no AMQP broker: ${error.message}`);
    this.scheduleReconnect(this.retryDelayMs);
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.options.reconnectDelayMaxMs);
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.closing || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.retryAt = 0;
      this.connection().catch(() => undefined);
    }, delayMs);
  }
}

/** Closes a connection politely, giving the broker a few seconds to answer. */
async function closeConnection(open: OpenConnection): Promise<void> {
  const { connection } = open;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, 5000);
    connection.once('connection_close', done);
    connection.once('disconnected', done);
    try {
      connection.close();
    } catch {
      done();
    }
  });
  // Not abandon(): destroying the socket would skip rhea's own end-of-socket clean-up (its heartbeat timer).
  connection.removeAllListeners();
  connection.on('error', () => undefined);
}
