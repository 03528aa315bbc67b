import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { MessengerState } from '../../kernel/messenger-state.js';
import type { FedoraMessagingBroker, ResolvedFedoraMessagingOptions } from './fedora-messaging-options.interface.js';
import { FedoraMessagingConnectionError, type FedoraMessagingConnectAttempt } from './fedora-messaging.errors.js';
import type { AmqplibApi } from './load-amqplib.js';

/** Where the messenger's parts log: the messenger's logger. */
export type FedoraMessagingLog = Record<'log' | 'warn' | 'error', (text: string) => void>;

/** A confirm channel and what the broker said on it; replaced after the broker closes it. */
export interface OpenChannel {
  readonly channel: ConfirmChannel;
  /** The broker, password as `***`. */
  readonly url: string;
  /** Messages the broker returned as unroutable, by message id: `<code> <text>`. */
  readonly returned: Map<string, string>;
  /** Set when the channel closed: the broker's reply, or why the connection went. */
  closed?: { readonly reply: string; readonly connectionLost: boolean };
  /**
   * Called once the channel has closed, after amqplib failed the confirm callbacks it still held:
   * amqplib stops at the first slot already confirmed out of order, so the rest are settled here.
   */
  readonly onClose: Set<() => void>;
}

/** TLS errors that no retry will cure: wrong CA, host name mismatch, certificate refused. */
const TLS_FAILURE =
  /CERT|certificate|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|unknown ca|bad certificate|handshake failure|alert/i;

/**
 * Keeps one connection and one confirm channel open: connects across the
 * URLs (from the one after the last that failed), re-opens the channel after
 * the broker closed it, reconnects with backoff after a drop, and tells a
 * refusal an operator must fix (a refused login, failed TLS verification:
 * logged once at error level, state `refused`, retried every
 * `reconnectDelayMaxMs`) from an unreachable broker (warned, `reconnecting`).
 */
export class FedoraMessagingConnection {
  private connection: ChannelModel | undefined;
  private connectedTo: FedoraMessagingBroker | undefined;
  private open: OpenChannel | undefined;
  private opening: Promise<OpenChannel> | undefined;
  private lastFailure: FedoraMessagingConnectionError | undefined;
  private retryAt = 0;
  private delayMs: number;
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private loggedRefusal: string | undefined;
  private snapshot: MessengerState = { status: 'starting', since: new Date() };
  private blockedBy: string | undefined;

  constructor(
    private readonly amqp: AmqplibApi,
    private readonly options: ResolvedFedoraMessagingOptions,
    private readonly logger: FedoraMessagingLog,
  ) {
    this.delayMs = options.reconnectDelayMs;
  }

  get state(): MessengerState {
    return this.snapshot;
  }

  /** While the broker blocks the connection (`connection.blocked`: a memory or disk alarm), why; else `undefined`. */
  get blocked(): string | undefined {
    return this.blockedBy;
  }

  /** The open channel, or a new one (re-using the connection when it is open); fails fast while backing off. */
  channel(): Promise<OpenChannel> {
    if (this.open && !this.open.closed) return Promise.resolve(this.open);
    if (this.opening) return this.opening;
    if (this.closing) return Promise.reject(new FedoraMessagingConnectionError([], false));
    if (this.lastFailure && Date.now() < this.retryAt) return Promise.reject(this.lastFailure);
    this.opening = this.openChannel().finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** Closes the channel and the connection; no reconnection afterwards. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    await this.opening?.catch(() => undefined);
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await connection.close().catch(() => undefined);
    this.setState({ status: 'stopped' });
  }

  private async openChannel(): Promise<OpenChannel> {
    const { connection, broker } =
      this.connection && this.connectedTo
        ? { connection: this.connection, broker: this.connectedTo }
        : await this.connectToAny();
    let channel: ConfirmChannel;
    try {
      channel = await connection.createConfirmChannel();
    } catch (error) {
      throw new FedoraMessagingConnectionError([describeFailure(broker, error)], false);
    }
    const open: OpenChannel = { channel, url: broker.url, returned: new Map(), onClose: new Set() };
    channel.on('return', (message: ConsumeMessage) => {
      const fields = message.fields as ConsumeMessage['fields'] & { replyCode?: number; replyText?: string };
      open.returned.set(
        String(message.properties.messageId),
        `${fields.replyCode ?? ''} ${fields.replyText ?? 'returned'}`,
      );
    });
    channel.on('error', (error: Error) => {
      open.closed ??= { reply: error.message.replace(/^Channel closed by server: /, ''), connectionLost: false };
      this.logger.warn(`fedora-messaging: ${broker.url} closed the channel: ${open.closed.reply}`);
    });
    channel.on('close', () => {
      open.closed ??= { reply: 'the channel was closed', connectionLost: false };
      for (const settle of open.onClose) settle();
    });
    this.open = open;
    return open;
  }

  private async connectToAny(): Promise<{ connection: ChannelModel; broker: FedoraMessagingBroker }> {
    const attempts: FedoraMessagingConnectAttempt[] = [];
    const { brokers } = this.options;
    for (let tried = 0; tried < brokers.length && !this.closing; tried++) {
      const broker = brokers[(this.next + tried) % brokers.length];
      try {
        const connection = await this.connectTo(broker);
        this.adopt(connection, broker);
        return { connection, broker };
      } catch (error) {
        attempts.push(describeFailure(broker, error));
      }
    }
    this.next = (this.next + 1) % brokers.length;
    const refused = attempts.some(({ condition }) => condition !== undefined);
    const failure = new FedoraMessagingConnectionError(attempts, refused);
    this.lastFailure = failure;
    const wait = refused ? this.options.reconnectDelayMaxMs : this.delayMs;
    this.retryAt = Date.now() + wait;
    this.delayMs = Math.min(this.delayMs * 2, this.options.reconnectDelayMaxMs);
    const last = attempts[attempts.length - 1] ?? { url: '', reason: 'shutting down' };
    const refusal = attempts.find(({ condition }) => condition !== undefined);
    if (refusal) {
      this.setState({ status: 'refused', reason: refusal.reason, condition: refusal.condition, url: refusal.url });
      if (this.loggedRefusal !== failure.message) this.logger.error(`${failure.message}; retrying every ${wait} ms`);
      this.loggedRefusal = failure.message;
    } else {
      this.setState({ status: 'reconnecting', reason: last.reason, url: last.url });
      this.logger.warn(`${failure.message}; retrying in ${wait} ms`);
    }
    this.scheduleReconnect(wait);
    throw failure;
  }

  private async connectTo(broker: FedoraMessagingBroker): Promise<ChannelModel> {
    const { tls, connectionTimeoutMs, heartbeatSeconds, clientProperties, verifyHostname } = this.options;
    return this.amqp.connect(
      {
        protocol: broker.protocol,
        hostname: broker.hostname,
        port: broker.port,
        vhost: broker.vhost,
        heartbeat: heartbeatSeconds,
        ...(broker.username === undefined ? {} : { username: broker.username, password: broker.password }),
      },
      {
        timeout: connectionTimeoutMs,
        // A confirm per message is a round trip: no Nagle delay on the frames that ask for it.
        noDelay: true,
        clientProperties: { product: 'nestjs-messaging', ...clientProperties },
        ...(tls.cert === undefined
          ? {}
          : { credentials: this.amqp.credentials.external(), cert: tls.cert, key: tls.key }),
        ...(tls.ca === undefined ? {} : { ca: [tls.ca] }),
        ...(verifyHostname ? {} : { checkServerIdentity: () => undefined }),
      },
    );
  }

  private adopt(connection: ChannelModel, broker: FedoraMessagingBroker): void {
    this.connection = connection;
    this.connectedTo = broker;
    this.lastFailure = undefined;
    this.loggedRefusal = undefined;
    this.delayMs = this.options.reconnectDelayMs;
    this.setState({ status: 'connected', url: broker.url });
    this.logger.log(`fedora-messaging: connected to ${broker.url}`);
    let reason = 'the connection closed';
    connection.on('error', (error: Error) => {
      reason = error.message;
    });
    // RabbitMQ stops reading a blocked connection: nothing published on it is confirmed until it unblocks.
    connection.on('blocked', (why: string) => {
      this.blockedBy = `${broker.url} blocked the connection: ${why}`;
      this.logger.error(`fedora-messaging: ${this.blockedBy}; send() refused until it unblocks`);
      this.setState({ status: 'reconnecting', reason: this.blockedBy, condition: 'blocked', url: broker.url });
    });
    connection.on('unblocked', () => {
      this.blockedBy = undefined;
      this.logger.log(`fedora-messaging: ${broker.url} unblocked the connection`);
      this.setState({ status: 'connected', url: broker.url });
    });
    connection.on('close', () => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      this.blockedBy = undefined;
      if (this.open)
        this.open.closed = { reply: `the connection to ${broker.url} was lost (${reason})`, connectionLost: true };
      if (this.closing) return;
      this.logger.warn(`fedora-messaging: lost the connection to ${broker.url} (${reason}); reconnecting`);
      this.setState({ status: 'reconnecting', reason, url: broker.url });
      this.scheduleReconnect(this.delayMs);
    });
  }

  private scheduleReconnect(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.closing) return;
    this.timer = setTimeout(() => {
      this.lastFailure = undefined;
      this.channel().catch(() => undefined);
    }, delayMs);
    this.timer.unref();
  }

  private setState(state: Omit<MessengerState, 'since'>): void {
    // `since` is when the status changed: a further attempt with the same outcome keeps it.
    const since = this.snapshot.status === state.status ? this.snapshot.since : new Date();
    this.snapshot = { ...state, since };
  }
}

function describeFailure(broker: FedoraMessagingBroker, error: unknown): FedoraMessagingConnectAttempt {
  const reason = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  if (/\b403\b|ACCESS.REFUSED/.test(reason)) return { url: broker.url, reason, condition: '403' };
  if (typeof code === 'string' && TLS_FAILURE.test(code)) return { url: broker.url, reason, condition: 'tls' };
  if (/certificate|alert/i.test(reason)) return { url: broker.url, reason, condition: 'tls' };
  return { url: broker.url, reason };
}
