import type { Connection, Delivery, EventContext, Sender, Session } from 'rhea';
import type { Message } from '../../kernel/message.interface.js';
import { toAmqpMessage, type AmqpBodyEncoder } from './amqp-message.mapper.js';
import { linkConditionKind, sizeCulpritIndex } from './amqp-condition.js';
import type { AmqpErrorLike, DeliveryResult, Failure, InFlight } from './amqp-link.interface.js';
import type { AmqpRefusal, AmqpOutcome } from './amqp.errors.js';

interface Pending {
  readonly message: Message;
  readonly settle: (result: DeliveryResult) => void;
}

/**
 * One sender link to one address, on a session of its own: RabbitMQ ends
 * the whole session when it refuses an attach, and that must not take the
 * links to other addresses down with it.
 */
export class AmqpSenderLink {
  /** Resolves when the link can send; resolves with the reason when the broker refused it. */
  readonly ready: Promise<AmqpRefusal | undefined>;
  private readonly session: Session;
  private readonly sender: Sender;
  private readonly pending = new Map<Delivery, Pending>();
  private broken: Failure | undefined;
  private attached = false;
  private finishReady: ((failure: AmqpRefusal | undefined) => void) | undefined;

  constructor(
    connection: Connection,
    readonly address: string,
    openTimeoutMs: number,
    /** Puts each message's JSON in the body section configured. */
    private readonly encodeBody: AmqpBodyEncoder,
    /** Called when the broker refuses the address for a configuration reason (on attach or later). */
    private readonly onAddressRefused: (failure: Failure) => void = () => undefined,
  ) {
    this.session = connection.create_session();
    this.session.begin();
    // rhea reports 'modified' as 'released' unless told otherwise; callers may treat them differently.
    this.sender = this.session.attach_sender({
      target: { address },
      autosettle: true,
      treat_modified_as_released: false,
    });
    // Registered first, so `attached` is set before the sends queued behind the attach run.
    this.ready = this.whenReady(openTimeoutMs).then((refused) => {
      this.attached = refused === undefined;
      return refused;
    });
    this.sender.on('accepted', (context: EventContext) => {
      this.settle(context.delivery, undefined);
    });
    for (const outcome of ['rejected', 'released', 'modified'] as const) {
      this.sender.on(outcome, (context: EventContext) => {
        const state = context.delivery?.remote_state as { error?: AmqpErrorLike } | undefined;
        this.settle(context.delivery, {
          outcome,
          condition: state?.error?.condition,
          description: state?.error?.description ?? `the broker ${outcome} the message`,
        });
      });
    }
    // After the link opened, the broker ending it or its session (with an error or without)
    // fails what is in flight on it, and the next send attaches a new link.
    this.session.on('session_close', (context: EventContext) => {
      this.ended(context.session?.error, 'the broker ended the session');
    });
    this.sender.on('sender_close', (context: EventContext) => {
      this.ended(context.sender?.error, 'the broker detached the link');
    });
  }

  /** Whether the link can still be used. */
  get usable(): boolean {
    return this.broken === undefined;
  }

  /**
   * Sends one message; the promise says how the broker settled it. Before
   * the link is attached, messages wait for it in call order: concurrent
   * batches must not overtake each other on a topic.
   */
  send(message: Message): InFlight {
    if (this.broken) {
      return { result: Promise.resolve(this.failureFor(message, this.broken)) };
    }
    if (this.attached) return this.transfer(message);
    const flight: InFlight = {
      result: this.ready.then(() => {
        if (this.broken) return this.failureFor(message, this.broken);
        const sent = this.transfer(message);
        flight.delivery = sent.delivery;
        return sent.result;
      }),
    };
    return flight;
  }

  private transfer(message: Message): InFlight {
    const delivery = this.sender.send(toAmqpMessage(message, this.encodeBody));
    const result = new Promise<DeliveryResult>((settle) => {
      this.pending.set(delivery, { message, settle });
    });
    return { delivery, result };
  }

  /** Gives up waiting for `delivery`: it counts as not accepted. */
  expire(delivery: Delivery, description: string): void {
    const pending = this.pending.get(delivery);
    if (pending === undefined) return;
    this.pending.delete(delivery);
    pending.settle(this.failureFor(pending.message, { outcome: 'timeout', description }));
  }

  /** The connection is gone: nothing in flight will be settled. */
  lose(description: string): void {
    this.breakWith('connection-lost', undefined, description);
    // Messages waiting for the attach fail now, not after the attach times out.
    const broken = this.broken ?? { outcome: 'connection-lost', description };
    this.finishReady?.({ messageId: '', topic: '', address: this.address, ...broken });
  }

  /** Whether nothing is waiting on the link: no message unsettled, none waiting for the attach. */
  get idle(): boolean {
    return this.pending.size === 0 && (this.attached || this.broken !== undefined);
  }

  /** Number of messages sent and not yet settled. */
  get inFlight(): number {
    return this.pending.size;
  }

  close(): void {
    this.broken ??= { outcome: 'connection-lost', description: 'the link was closed' };
    try {
      this.session.close();
    } catch {
      // The connection is already gone.
    }
  }

  private whenReady(timeoutMs: number): Promise<AmqpRefusal | undefined> {
    return new Promise((resolve) => {
      const finish = (failure: AmqpRefusal | undefined): void => {
        clearTimeout(timer);
        this.sender.removeListener('sendable', onSendable);
        this.session.removeListener('session_close', onRefused);
        this.sender.removeListener('sender_close', onRefused);
        this.finishReady = undefined;
        resolve(failure);
      };
      this.finishReady = finish;
      const onSendable = (): void => {
        finish(undefined);
      };
      const onRefused = (context: EventContext): void => {
        const error: AmqpErrorLike | undefined = context.sender?.error ?? context.session?.error;
        const description = error?.description ?? error?.message ?? 'the broker refused the link';
        // Not the address's fault (detach-forced, resource-limit-exceeded): not counted. An address the
        // broker does not know or lets us not use (not-found, unauthorized-access): an operator's to fix.
        const kind = error?.condition === undefined ? 'other' : linkConditionKind(error.condition);
        const outcome =
          kind === 'transient' ? 'link-detached' : kind === 'configuration' ? 'address-refused' : 'link-refused';
        finish(this.linkFailure(error?.condition, description, outcome));
      };
      const timer = setTimeout(() => {
        finish(
          this.linkFailure(
            undefined,
            `the broker gave no credit on a link to this address within ${timeoutMs} ms; it may not know the address (check the address template)`,
          ),
        );
      }, timeoutMs);
      this.sender.once('sendable', onSendable);
      this.session.once('session_close', onRefused);
      this.sender.once('sender_close', onRefused);
    });
  }

  private linkFailure(
    condition: string | undefined,
    description: string,
    outcome: AmqpOutcome = 'link-refused',
  ): AmqpRefusal {
    this.broken = { outcome, condition, description };
    if (outcome === 'address-refused') this.onAddressRefused(this.broken);
    return { messageId: '', topic: '', address: this.address, outcome, condition, description };
  }

  /** The broker ended the link or its session. Without an error, or a transient one, no message is to blame. */
  private ended(error: AmqpErrorLike | undefined, fallback: string): void {
    if (!this.attached) return; // whenReady reports a refused attach.
    const kind = linkConditionKind(error?.condition);
    if (kind === 'transient') {
      const said = error?.condition === undefined ? '' : ` (${error.condition}: ${error.description ?? ''})`;
      this.breakWith('link-detached', undefined, `${fallback} before settling it${said}`);
    } else if (kind === 'configuration') {
      // The address went away (exchange deleted, permission revoked): no message is to blame.
      this.breakWith('address-refused', error, fallback);
      if (this.broken?.outcome === 'address-refused') this.onAddressRefused(this.broken);
    } else this.breakWith('link-refused', error, fallback);
    // After rhea has answered the detach (next tick): a detach sent after the end breaks the connection.
    setImmediate(() => {
      this.close();
    });
  }

  private settle(delivery: Delivery | undefined, failure: Failure | undefined): void {
    if (delivery === undefined) return;
    const pending = this.pending.get(delivery);
    if (pending === undefined) return;
    this.pending.delete(delivery);
    pending.settle(failure && this.failureFor(pending.message, failure));
  }

  private breakWith(outcome: AmqpOutcome, error: AmqpErrorLike | undefined, fallback: string): void {
    this.broken ??= { outcome, condition: error?.condition, description: error?.description ?? fallback };
    const broken = this.broken;
    // The broker ends the link over one message: the first one over the size it names, else the
    // oldest one still unsettled (RabbitMQ settles earlier ones asynchronously). The others are collateral.
    const culprit = sizeCulpritIndex(
      broken.description,
      [...this.pending.values()].map(({ message }) => message),
    );
    let index = 0;
    for (const [delivery, pending] of this.pending) {
      this.pending.delete(delivery);
      const failure: Failure =
        index++ === culprit || broken.outcome !== 'link-refused'
          ? broken
          : {
              outcome: 'link-detached',
              description: `not settled when the broker ended the link over another message (${broken.condition ?? ''} ${broken.description})`,
            };
      pending.settle(this.failureFor(pending.message, failure));
    }
  }

  private failureFor(message: Message, failure: Failure): AmqpRefusal {
    return {
      messageId: message.id,
      topic: message.topic,
      address: this.address,
      outcome: failure.outcome,
      condition: failure.condition,
      description: failure.description,
    };
  }
}
