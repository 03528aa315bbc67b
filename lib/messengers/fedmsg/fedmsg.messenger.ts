import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { XPublisher } from 'zeromq';
import type { Message } from '../../kernel/message.interface.js';
import { MessagingError, MessengerUnavailableError } from '../../kernel/messaging.errors.js';
import { encodeEnvelope, fedmsgEnvelope, fedmsgTopic } from './fedmsg-envelope.js';
import type { FedmsgMessengerOptions, ResolvedFedmsgOptions } from './fedmsg-options.interface.js';
import { resolveFedmsgOptions } from './fedmsg-options.validation.js';
import { FedmsgSendReport, isSocketClosedError, isTransientSendError, reasonOf } from './fedmsg-send-report.js';
import { FedmsgState, type FedmsgStats } from './fedmsg-state.js';
import type { MessengerState, StatefulMessenger } from '../../kernel/messenger-state.js';
import { loadFedmsgSigner, signFedmsgEnvelope, type FedmsgSigner } from './fedmsg-signature.js';
import { JoinGate } from './join-gate.js';
import { loadZeromq } from './load-zeromq.js';

/**
 * Publishes messages on a ZeroMQ PUB socket in fedmsg's wire format (PDC's
 * FedmsgMessenger), so fedmsg consumers (fedmsg-hub, fedmsg-tail,
 * datanommer, the fedmsg-to-AMQP bridge) receive them unchanged: two frames,
 * the topic `<prefix>.<environment>.<modname>.<topic>` and the canonical
 * JSON envelope `{ topic, msg, timestamp, msg_id, i, username }`, signed
 * with X.509 when `sign` is set. Needs the `zeromq` package (version 6).
 *
 * ZeroMQ PUB has no acknowledgements: `send()` resolves once the frames are
 * handed to the socket, not when a subscriber got them. A subscriber that
 * lags past `highWaterMark` loses messages for itself only; the others get
 * every one. What the socket does not take is reported as not sent: a
 * `MessengerSendError` naming the messages handed over and why each other
 * one was not, or `MessengerUnavailableError` when the messenger is not open.
 *
 * @example
 * ```ts
 * MessagingModule.forRoot({
 *   messenger: new FedmsgMessenger({ endpoints: ['tcp://*:3000'], environment: 'prod' }),
 * });
 * ```
 */
export class FedmsgMessenger implements StatefulMessenger, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(FedmsgMessenger.name);
  private readonly options: ResolvedFedmsgOptions;
  private readonly gate: JoinGate;
  private signer: FedmsgSigner | undefined;
  private socket: XPublisher | undefined;
  private counter = 0;
  private published = 0;
  private dropped = 0;
  // zeromq.js allows one send at a time: concurrent batches queue here, in order.
  private tail: Promise<void> = Promise.resolve();
  private followers: Promise<unknown> | undefined;
  private readonly topics = new Map<string, string>();
  private readonly status = new FedmsgState();

  /** @throws MessagingOptionsError listing every invalid option. */
  constructor(options: FedmsgMessengerOptions) {
    this.options = resolveFedmsgOptions(options);
    this.gate = new JoinGate(this.options.joinTimeoutMs);
  }

  /** What has been published, and what was reported not sent, so far. */
  get stats(): FedmsgStats {
    return { published: this.published, dropped: this.dropped };
  }

  /** `starting`, `connected` once bound (or connected to its relays; `url`: the endpoint), `stopped` after shutdown. */
  get state(): MessengerState {
    return this.status.state;
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
      // PUB semantics at the high-water mark: drop for the lagging subscriber only. (noDrop would
      // make the socket refuse every message, for every subscriber, while one of them is full.)
      noDrop: false,
      sendTimeout: 0,
    });
    socket.verbosity = 'allSubs';
    // Started before bind/connect so that no peer event is missed.
    const peers = this.followPeers(socket);
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
    const where = options.active ? options.endpoints.join(', ') : (this.endpoint ?? '');
    this.status.set('connected', where);
    this.logger.log(
      `${options.active ? 'Connected to relay' : 'Publishing on'} ${where}${this.signer ? ' (signed)' : ''}`,
    );
  }

  /**
   * Publishes the batch, each message as two frames, in order.
   * @throws MessengerUnavailableError when not open (before `onModuleInit()`, after shutdown): none sent, none counted.
   * @throws MessengerSendError naming what the socket did not take: a message that cannot be encoded
   *   or signed, or whose frames the socket refuses for good (not retryable: dead at once, reason
   *   `rejected`), one refused while the send queue is full (not counted), the later ones of its topic
   *   (not counted), all the rest once the socket is closed (not counted, `unavailable` set).
   */
  send(messages: readonly Message[]): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) {
      this.dropped += messages.length;
      return Promise.reject(
        new MessengerUnavailableError(
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
    this.status.set('stopped');
    await this.tail;
    socket.close();
    await this.followers;
  }

  /** Hands each message to the socket; what it does not take is thrown as a `MessengerSendError`. */
  private async publish(socket: XPublisher, messages: readonly Message[]): Promise<void> {
    const joining = this.gate.whenOpen();
    if (joining) await joining;
    let report: FedmsgSendReport | undefined; // only once something fails
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index];
      if (report?.holdsBack(message)) continue;
      let frames: [string, string];
      try {
        frames = this.framesOf(message);
      } catch (error) {
        report ??= new FedmsgSendReport(messages);
        report.fail(message, `cannot be encoded for fedmsg: ${reasonOf(error)}`, true, false);
        continue;
      }
      try {
        await socket.send(frames);
        this.published++;
      } catch (error) {
        report ??= new FedmsgSendReport(messages);
        if (isSocketClosedError(error) || socket.closed) {
          report.stop(index, `the ZeroMQ socket is closed (${reasonOf(error)})`);
          break;
        }
        if (isTransientSendError(error))
          report.fail(message, `the ZeroMQ socket refused it: ${reasonOf(error)}`, false);
        else report.fail(message, `the ZeroMQ socket cannot send its frames: ${reasonOf(error)}`, true, false);
      }
    }
    if (report === undefined) return;
    this.dropped += report.failed;
    throw report.toError();
  }

  /** The two fedmsg frames of a message: full topic, then the (signed) canonical JSON envelope. */
  private framesOf(message: Message): [string, string] {
    const topic = this.topicOf(message.topic);
    const envelope = fedmsgEnvelope(message, topic, ++this.counter, this.options.username);
    return [topic, encodeEnvelope(this.signer ? signFedmsgEnvelope(envelope, this.signer) : envelope)];
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
   * Reads socket events: a peer past the ZeroMQ handshake is joining (a
   * bare TCP connection, such as a port check, is not); one that left will
   * not subscribe. (receive(), not events.on(): zeromq.js's emitter mode
   * requires "events" lazily, from the first module registry, which breaks under Jest.)
   */
  private async followPeers(socket: XPublisher): Promise<void> {
    try {
      while (!socket.events.closed) {
        const event = await socket.events.receive();
        if (event.type === 'handshake') this.gate.expect(true);
        else if (event.type === 'disconnect') this.gate.left();
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
