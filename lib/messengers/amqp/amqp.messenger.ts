import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Container } from 'rhea';
import type { Message } from '../../kernel/message.interface.js';
import { MessengerUnavailableError } from '../../kernel/messaging.errors.js';
import type { Messenger } from '../../kernel/messenger.interface.js';
import { AmqpConnectionKeeper, type AmqpLog } from './amqp-connection-keeper.js';
import { AmqpLinkPool } from './amqp-link-pool.js';
import { amqpAddress, amqpBodyEncoder } from './amqp-message.mapper.js';
import type { AmqpMessengerOptions, ResolvedAmqpOptions } from './amqp-options.interface.js';
import { resolveAmqpOptions } from './amqp-options.validation.js';
import type { InFlight } from './amqp-link.interface.js';
import type { AmqpSenderLink } from './amqp-sender-link.js';
import type { AmqpConnectionState, AmqpMessengerState } from './amqp-state.js';
import { AmqpSendError, type AmqpRefusal } from './amqp.errors.js';
import { loadRhea } from './load-rhea.js';

/**
 * Sends messages to any AMQP 1.0 broker with rhea (PDC's RHMsgMessenger):
 * ActiveMQ, Artemis, RabbitMQ, Qpid, Azure Service Bus. One long-lived
 * connection, to a broker chosen in random order among `urls`, re-opened
 * with backoff (failing over to the others) after a drop; a broker that
 * refuses it (wrong password, no permission) is logged once at error level
 * and retried every `reconnectDelayMaxMs` (see `state`). Each message is
 * durable, with PDC's application properties and its JSON in the body
 * section `body` chooses (amqp-value by default, `data` for AMQP 0-9-1
 * consumers behind RabbitMQ); `sasl: 'external'` authenticates with the
 * client certificate (SASL EXTERNAL). `send()` resolves only when
 * the broker has accepted every message of the batch. Needs the `rhea`
 * package (version 3). One sender link (on a session of its own) per
 * address, closed after `idleLinkTimeoutMs` unused; at most `maxLinks`.
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
  private readonly keeper: AmqpConnectionKeeper;
  private readonly links: AmqpLinkPool;
  private readonly sending = new Set<Promise<void>>();
  private container: Container | undefined;
  private closing = false;
  private snapshot: { readonly from: AmqpConnectionState; readonly state: AmqpMessengerState } | undefined;

  /** @throws MessagingOptionsError listing every invalid option, unreadable file or mismatched key. */
  constructor(options: AmqpMessengerOptions) {
    this.options = resolveAmqpOptions(options);
    // Through the field, not its value now: a logger set on the instance later is used too.
    const log: AmqpLog = {
      log: (text) => {
        this.logger.log(text);
      },
      warn: (text) => {
        this.logger.warn(text);
      },
      error: (text) => {
        this.logger.error(text);
      },
      debug: (text) => {
        this.logger.debug(text);
      },
    };
    this.links = new AmqpLinkPool(this.options, log, () => {
      this.keeper.confirm();
    });
    this.keeper = new AmqpConnectionKeeper(this.options, log, (open, reason) => {
      this.links.loseAll(
        `the connection to ${open.target.url} was lost before the broker settled the message (${reason})`,
      );
    });
  }

  /** The broker URL of the open connection, if any. */
  get connectedTo(): string | undefined {
    return this.keeper.open?.target.url;
  }

  /**
   * The connection's state, for health checks: `connected`, `reconnecting`
   * (unreachable, with the `reason`), `refused` (the broker refused the
   * connection for a reason an operator must fix: `condition` and `reason`
   * say which), `starting` or `stopped`; and `refusedAddresses`, the
   * addresses the broker refused (unknown, no permission) while the others
   * flow. A new object on each change.
   */
  get state(): AmqpMessengerState {
    const from = this.keeper.state;
    const refusedAddresses = this.links.refused;
    if (this.snapshot?.from !== from || this.snapshot.state.refusedAddresses !== refusedAddresses)
      this.snapshot = { from, state: { ...from, refusedAddresses } };
    return this.snapshot.state;
  }

  /** Number of sender links open (one per address recently sent to). */
  get openLinks(): number {
    return this.links.size;
  }

  /** Loads rhea and starts connecting in the background: a broker that is down does not stop the application. */
  async onModuleInit(): Promise<void> {
    const rhea = await loadRhea();
    this.container = rhea.create_container({ id: this.options.containerId });
    // Errors are handled where they arise; an unhandled 'error' event would end the process.
    this.container.on('error', (error: Error) => {
      this.logger.warn(`AMQP: ${error.message}`);
    });
    this.links.start(amqpBodyEncoder(this.options.body, rhea.message));
    this.keeper.start(this.container);
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

  /** Lets sends in flight settle (each within `sendTimeoutMs`), then closes the links and the connection. */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    this.keeper.stopReconnecting();
    await Promise.allSettled([...this.sending]);
    await this.keeper.close(() => {
      this.links.closeAll();
    });
  }

  private async sendBatch(messages: readonly Message[]): Promise<void> {
    const open = await this.keeper.connection();
    const inFlight: { link?: AmqpSenderLink; message: Message; flight: InFlight }[] = [];
    const failures: AmqpRefusal[] = [];
    const now = Date.now();
    // Every message is handed to its topic's link now, without awaiting in between: a batch sent
    // concurrently must not slip a later message of a topic ahead of this one.
    for (const message of messages) {
      const address = amqpAddress(this.options.address, this.options.topicPrefix, message.topic);
      const link = this.links.linkFor(open, address, now);
      if ('outcome' in link) {
        const refusal: AmqpRefusal = { messageId: message.id, topic: message.topic, address, ...link };
        inFlight.push({ message, flight: { result: Promise.resolve(refusal) } });
      } else inFlight.push({ link, message, flight: link.send(message) });
    }
    const timer = setTimeout(() => {
      for (const { link, flight } of inFlight) {
        if (link && flight.delivery)
          link.expire(flight.delivery, `the broker did not settle it within ${this.options.sendTimeoutMs} ms`);
      }
    }, this.options.sendTimeoutMs);
    const results = await Promise.all(inFlight.map(({ flight }) => flight.result));
    clearTimeout(timer);
    const acceptedIds: string[] = [];
    results.forEach((failure, index) => {
      if (failure === undefined) acceptedIds.push(inFlight[index].message.id);
      else if (failure.outcome !== 'address-refused' || failure.retryAt !== undefined) failures.push(failure);
      else failures.push({ ...failure, retryAt: this.links.retryAt(failure.address) });
    });
    // A connection the broker closed for a configuration reason: the keeper logged it at error level.
    const logged = this.keeper.state.status === 'refused';
    if (failures.length > 0) throw new AmqpSendError(open.target.url, failures, acceptedIds, logged);
  }
}
