import type { Container, EventContext } from 'rhea';
import { MessengerUnavailableError } from '../../kernel/messaging.errors.js';
import { connectionConditionKind } from './amqp-condition.js';
import { abandon, brokerRefusalOf, connectToAny, type OpenConnection } from './amqp-connect.js';
import type { ResolvedAmqpOptions } from './amqp-options.interface.js';
import type { AmqpConnectionStatus, AmqpConnectionState } from './amqp-state.js';
import { AmqpConnectionRefusedError } from './amqp.errors.js';

/** Where the messenger's parts log: the messenger's logger. */
export type AmqpLog = Record<'log' | 'warn' | 'error' | 'debug', (text: string) => void>;

/**
 * Keeps one connection open: opens it on demand, fails fast while backing
 * off, reconnects after a drop, and tells a refusal that an operator must
 * fix (logged once at error level, retried every `reconnectDelayMaxMs`)
 * from a broker that cannot be reached (warned, retried with backoff).
 */
export class AmqpConnectionKeeper {
  private container: Container | undefined;
  private current: OpenConnection | undefined;
  private connecting: Promise<OpenConnection> | undefined;
  private retryDelayMs: number;
  private retryAt = 0;
  private lastFailure: Error | undefined;
  private loggedRefusal: string | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private snapshot: AmqpConnectionState = { status: 'starting', since: new Date() };

  constructor(
    private readonly options: ResolvedAmqpOptions,
    private readonly logger: AmqpLog,
    /** Called when an open connection is lost, before reconnecting. */
    private readonly onLost: (open: OpenConnection, reason: string) => void,
  ) {
    this.retryDelayMs = options.reconnectDelayMs;
  }

  get state(): AmqpConnectionState {
    return this.snapshot;
  }

  get open(): OpenConnection | undefined {
    return this.current;
  }

  start(container: Container): void {
    this.container = container;
    this.connection().catch(() => undefined);
  }

  /** The open connection, or a new one; fails fast while backing off after a failed attempt. */
  connection(): Promise<OpenConnection> {
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

  /** Stops reconnecting, waits for a connection being opened, and closes the connection. */
  async close(beforeClose: () => void): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    await this.connecting?.catch(() => undefined);
    beforeClose();
    const open = this.current;
    this.current = undefined;
    this.setState('stopped');
    if (open) await closeConnection(open);
  }

  /** Marks the keeper as closing: no new connection is opened. */
  stopReconnecting(): void {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
  }

  /** A link attached: the broker accepts this connection (RabbitMQ refuses a virtual host only at the first session). */
  confirm(): void {
    const open = this.current;
    if (open === undefined || this.snapshot.status !== 'refused') return;
    this.loggedRefusal = undefined;
    this.setState('connected', undefined, undefined, open.target.url);
    this.logger.log(`The AMQP broker ${open.target.url} accepts the connection again`);
  }

  private adopt(open: OpenConnection): void {
    const recovered = this.lastFailure !== undefined;
    this.current = open;
    this.lastFailure = undefined;
    this.retryDelayMs = this.options.reconnectDelayMs;
    // After a refusal, `refused` until a link attaches: the broker may refuse the first session.
    if (this.snapshot.status === 'refused') {
      this.logger.debug(`Connected to ${open.target.url} after a refusal`);
    } else {
      this.setState('connected', undefined, undefined, open.target.url);
      this.logger.log(`${recovered ? 'Reconnected' : 'Connected'} to ${open.target.url}`);
    }
    open.connection.on('disconnected', (context: EventContext) => {
      this.lose(open, context.error?.message ?? 'the broker closed the connection');
    });
    const onClosed = (context: EventContext): void => {
      const refusal = brokerRefusalOf(context);
      this.lose(open, refusal?.message ?? 'the broker closed the connection', refusal?.condition);
    };
    // rhea emits connection_error (with an error) and then connection_close; the first one counts.
    open.connection.on('connection_error', onClosed);
    open.connection.on('connection_close', onClosed);
    open.connection.on('error', (error: Error) => {
      this.lose(open, error.message);
    });
  }

  private lose(open: OpenConnection, reason: string, condition?: string): void {
    if (this.current !== open) return;
    this.current = undefined;
    this.onLost(open, reason);
    abandon(open.connection);
    if (this.closing) return;
    this.retryAt = 0;
    if (connectionConditionKind(condition) === 'configuration') {
      this.noteFailure(new AmqpConnectionRefusedError([{ url: open.target.url, reason, condition }]));
      return;
    }
    this.loggedRefusal = undefined;
    this.logger.warn(`Lost the connection to ${open.target.url} (${reason}); reconnecting`);
    this.lastFailure = new MessengerUnavailableError(`The connection to ${open.target.url} was lost (${reason})`);
    this.setState('reconnecting', reason, condition, open.target.url);
    this.scheduleReconnect(this.options.reconnectDelayMs);
  }

  private noteFailure(error: Error): void {
    if (error instanceof AmqpConnectionRefusedError) {
      const refused = error.attempts.find(({ condition }) => connectionConditionKind(condition) === 'configuration');
      this.setState('refused', error.message, refused?.condition, refused?.url);
      // Once at error level; again only when the broker says something else.
      if (this.loggedRefusal !== error.message) this.logger.error(error.message);
      else this.logger.debug(`Still refused: ${error.message}`);
      this.loggedRefusal = error.message;
      this.lastFailure = error;
      // Retrying soon would not help: an operator must fix the credentials or permissions.
      this.retryDelayMs = this.options.reconnectDelayMaxMs;
      this.retryAt = Date.now() + this.retryDelayMs;
      this.scheduleReconnect(this.retryDelayMs);
      return;
    }
    const firstFailure =
      this.lastFailure === undefined ||
      this.retryDelayMs === this.options.reconnectDelayMs ||
      this.snapshot.status === 'refused';
    this.lastFailure = error;
    this.loggedRefusal = undefined;
    this.setState('reconnecting', error.message);
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

  private setState(status: AmqpConnectionStatus, reason?: string, condition?: string, url?: string): void {
    // `since` is when the status changed: a further attempt with the same outcome keeps it.
    const since = this.snapshot.status === status ? this.snapshot.since : new Date();
    this.snapshot = { status, reason, condition, url, since };
  }
}

/** Closes a connection politely, giving the broker a few seconds to answer, then releases its socket and timers. */
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
  abandon(connection);
}
