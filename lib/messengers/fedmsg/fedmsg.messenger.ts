import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { XPublisher } from 'zeromq';
import type { Message } from '../../kernel/message.interface.js';
import { MessagingError } from '../../kernel/messaging.errors.js';
import type { Messenger } from '../../kernel/messenger.interface.js';
import { encodeEnvelope, fedmsgEnvelope, fedmsgTopic } from './fedmsg-envelope.js';
import type { FedmsgMessengerOptions, ResolvedFedmsgOptions } from './fedmsg-options.interface.js';
import { resolveFedmsgOptions } from './fedmsg-options.validation.js';
import { loadFedmsgSigner, signFedmsgEnvelope, type FedmsgSigner } from './fedmsg-signature.js';
import { JoinGate } from './join-gate.js';
import { loadZeromq } from './load-zeromq.js';

const DROP_LOG_INTERVAL_MS = 10_000;

/** Counters of what a `FedmsgMessenger` handed to its socket. */
export interface FedmsgStats {
  /** Messages handed to the socket. */
  readonly published: number;
  /** Messages ZeroMQ refused because a subscriber's high-water mark was reached. */
  readonly dropped: number;
}

/**
 * Publishes messages on a ZeroMQ PUB socket in fedmsg's wire format (PDC's
 * FedmsgMessenger), so fedmsg consumers (fedmsg-hub, fedmsg-tail,
 * datanommer, the fedmsg-to-AMQP bridge) receive them unchanged: two frames,
 * the topic `<prefix>.<environment>.<modname>.<topic>` and the canonical
 * JSON envelope `{ topic, msg, timestamp, msg_id, i, username }`, signed
 * with X.509 when `sign` is set. Needs the `zeromq` package (version 6).
 *
 * ZeroMQ PUB has no acknowledgements: `send()` resolves once the frames are
 * handed to the socket, not when a subscriber got them.
 *
 * @example
 * ```ts
 * MessagingModule.forRoot({
 *   messenger: new FedmsgMessenger({ endpoints: ['tcp://*:3000'], environment: 'prod' }),
 * });
 * ```
 */
export class FedmsgMessenger implements Messenger, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(FedmsgMessenger.name);
  private readonly options: ResolvedFedmsgOptions;
  private readonly gate: JoinGate;
  private signer: FedmsgSigner | undefined;
  private socket: XPublisher | undefined;
  private counter = 0;
  private published = 0;
  private dropped = 0;
  private dropsLoggedAt = Number.NEGATIVE_INFINITY;
  private droppedAtLastLog = 0;
  // zeromq.js allows one send at a time: concurrent batches queue here, in order.
  private tail: Promise<void> = Promise.resolve();
  private followers: Promise<unknown> | undefined;
  private readonly topics = new Map<string, string>();

  /** @throws MessagingOptionsError listing every invalid option. */
  constructor(options: FedmsgMessengerOptions) {
    this.options = resolveFedmsgOptions(options);
    this.gate = new JoinGate(this.options.joinTimeoutMs);
  }

  /** What has been published and dropped so far. */
  get stats(): FedmsgStats {
    return { published: this.published, dropped: this.dropped };
  }

  /** The endpoint bound (bind mode), or the last relay endpoint connected to (active mode), once started. */
  get endpoint(): string | undefined {
    return this.socket?.lastEndpoint ?? undefined;
  }

  /** Loads signing files, opens the socket, binds or connects. Called by Nest at start-up. */
  async onModuleInit(): Promise<void> {
    if (this.options.sign) this.signer = loadFedmsgSigner(this.options.sign);
    const zmq = await loadZeromq();
    const options = this.options;
    const socket = new zmq.XPublisher({
      sendHighWaterMark: options.highWaterMark,
      linger: options.lingerMs,
      tcpKeepalive: options.tcpKeepalive ? 1 : 0,
      tcpKeepaliveCount: options.tcpKeepaliveCount,
      tcpKeepaliveIdle: options.tcpKeepaliveIdleSeconds,
      tcpKeepaliveInterval: options.tcpKeepaliveIntervalSeconds,
      reconnectInterval: options.reconnectIntervalMs,
      reconnectMaxInterval: options.reconnectIntervalMaxMs,
      // Refuse rather than silently drop at the high-water mark, so drops can be counted.
      noDrop: true,
      sendTimeout: 0,
    });
    socket.verbosity = 'allSubs';
    // Started before bind/connect so that no peer event is missed.
    const peers = this.followPeers(socket, options.active ? 'connect' : 'accept');
    try {
      if (options.active) {
        for (const endpoint of options.endpoints) socket.connect(endpoint);
        this.gate.expect(true);
      } else {
        await this.bindFirst(socket);
        this.gate.expect(false);
      }
    } catch (error) {
      socket.close();
      throw error;
    }
    this.socket = socket;
    this.followers = Promise.all([peers, this.followSubscriptions(socket)]);
    this.logger.log(
      `${options.active ? 'Connected to relay' : 'Publishing on'} ${options.active ? options.endpoints.join(', ') : this.endpoint}${
        this.signer ? ' (signed)' : ''
      }`,
    );
  }

  send(messages: readonly Message[]): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) {
      return Promise.reject(
        new MessagingError(
          'FedmsgMessenger is not open: pass it to MessagingModule (Nest calls onModuleInit), or call onModuleInit() yourself; it closes on application shutdown',
        ),
      );
    }
    const job = this.tail.then(() => this.publish(socket, messages));
    this.tail = job.catch(() => undefined);
    return job;
  }

  /** Lets queued sends finish, then closes the socket; ZeroMQ keeps flushing for `lingerMs`. */
  async onApplicationShutdown(): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return;
    this.socket = undefined;
    await this.tail;
    socket.close();
    await this.followers;
  }

  private async publish(socket: XPublisher, messages: readonly Message[]): Promise<void> {
    const joining = this.gate.whenOpen();
    if (joining) await joining;
    for (const message of messages) {
      const topic = this.topicOf(message.topic);
      const envelope = fedmsgEnvelope(message, topic, ++this.counter, this.options.username);
      const body = encodeEnvelope(this.signer ? signFedmsgEnvelope(envelope, this.signer) : envelope);
      try {
        await socket.send([topic, body]);
        this.published++;
      } catch (error) {
        if ((error as { code?: string }).code !== 'EAGAIN') throw error;
        this.dropped++;
        this.reportDrops(message, topic);
      }
    }
  }

  /** At most one line per DROP_LOG_INTERVAL_MS while a subscriber lags: no log storm. */
  private reportDrops(message: Message, topic: string): void {
    const now = Date.now();
    if (now - this.dropsLoggedAt < DROP_LOG_INTERVAL_MS) return;
    const since = this.dropped - this.droppedAtLastLog;
    this.dropsLoggedAt = now;
    this.droppedAtLastLog = this.dropped;
    this.logger.warn(
      `A subscriber is at the high-water mark (${this.options.highWaterMark}): ${since} message(s) dropped since the last report, ` +
        `${this.dropped} in all (latest ${message.id} on ${topic})`,
    );
  }

  /** Topics repeat: build each full fedmsg topic once. */
  private topicOf(topic: string): string {
    let full = this.topics.get(topic);
    if (full === undefined) {
      full = fedmsgTopic(topic, this.options);
      if (this.topics.size < 10_000) this.topics.set(topic, full);
    }
    return full;
  }

  /** Binds the first endpoint that can be bound, as fedmsg does; none is a start-up error naming each. */
  private async bindFirst(socket: XPublisher): Promise<void> {
    const failures: string[] = [];
    for (const endpoint of this.options.endpoints) {
      try {
        await socket.bind(endpoint);
        return;
      } catch (error) {
        failures.push(`${endpoint} (${error instanceof Error ? error.message : String(error)})`);
      }
    }
    throw new MessagingError(`FedmsgMessenger could not bind any endpoint: ${failures.join('; ')}`);
  }

  /**
   * Reads socket events: a new peer is joining. (Read with receive(), not
   * events.on(): zeromq.js's emitter mode requires "events" lazily, from
   * the first module registry that used it, which breaks under Jest.)
   */
  private async followPeers(socket: XPublisher, joining: 'accept' | 'connect'): Promise<void> {
    try {
      while (!socket.events.closed) {
        const event = await socket.events.receive();
        if (event.type === joining) this.gate.expect(true);
      }
    } catch {
      // The socket was closed: nothing more to follow.
    }
  }

  /** Reads subscription messages (an XPUB must), which tell the gate a subscriber has joined. */
  private async followSubscriptions(socket: XPublisher): Promise<void> {
    try {
      for await (const [frame] of socket) {
        if (frame.length > 0 && frame[0] === 1) this.gate.subscribed();
      }
    } catch {
      // The socket was closed: nothing more to follow.
    }
  }
}
