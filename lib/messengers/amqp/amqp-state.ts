/**
 * Where an `AmqpMessenger`'s connection stands:
 *
 * - `starting`: not started yet, or the first connection is being opened;
 * - `connected`: a connection is open (to `url`);
 * - `reconnecting`: no broker could be reached, or the connection was lost
 *   (`reason` says why); retried with backoff up to `reconnectDelayMaxMs`;
 * - `refused`: a broker refused the connection for a reason an operator must
 *   fix (`condition` such as `amqp:unauthorized-access`: wrong username or
 *   password; `amqp:not-found`, `amqp:not-allowed`); retried every
 *   `reconnectDelayMaxMs`;
 * - `stopped`: shut down.
 */
export type AmqpConnectionStatus = 'starting' | 'connected' | 'reconnecting' | 'refused' | 'stopped';

/** An address the broker refused for a reason an operator must fix; its messages wait in the outbox. */
export interface AmqpAddressRefusal {
  /** The link target, such as `/exchange/amq.topic/eng.pdc.compose`. */
  readonly address: string;
  /** The broker's AMQP condition, such as `amqp:not-found` or `amqp:unauthorized-access`. */
  readonly condition?: string;
  /** The broker's description. */
  readonly description: string;
  /** When the broker first refused it (with this condition and description). */
  readonly since: Date;
  /** When a link to it is attached again, in ms since the epoch (`reconnectDelayMaxMs` after the last refusal). */
  readonly retryAt: number;
}

/** Where an `AmqpMessenger`'s connection stands. */
export interface AmqpConnectionState {
  readonly status: AmqpConnectionStatus;
  /** Why the messenger is not connected; `undefined` when connected or starting. */
  readonly reason?: string;
  /** The broker's AMQP condition when it refused or closed the connection, such as `amqp:unauthorized-access`. */
  readonly condition?: string;
  /** The broker connected to (`connected`), or that refused or dropped the connection, when known. */
  readonly url?: string;
  /** When the status last changed. */
  readonly since: Date;
}

/**
 * A snapshot of an `AmqpMessenger`'s connection and refused addresses, for
 * logs and health checks. An address can be refused while `status` is
 * `connected`: the other addresses' messages flow.
 */
export interface AmqpMessengerState extends AmqpConnectionState {
  /** Addresses the broker refuses (unknown, no permission), oldest first; `[]` when none. */
  readonly refusedAddresses: readonly AmqpAddressRefusal[];
}
