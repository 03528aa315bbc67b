import type { Delivery } from 'rhea';
import type { AmqpRefusal, AmqpOutcome } from './amqp.errors.js';

/** `undefined` when the broker accepted the message, else why not. */
export type DeliveryResult = AmqpRefusal | undefined;

/** Why a message was not accepted, before it is tied to the message. */
export interface Failure {
  readonly outcome: AmqpOutcome;
  readonly condition?: string;
  readonly description: string;
}

/** rhea types link and session errors loosely; this is the shape they have. */
export interface AmqpErrorLike {
  readonly condition?: string;
  readonly description?: string;
  readonly message?: string;
}

/** A sent message whose outcome is still to come. */
export interface InFlight {
  /** Absent when the link was already broken and nothing was sent, or until a queued message is sent. */
  delivery?: Delivery;
  readonly result: Promise<DeliveryResult>;
}
