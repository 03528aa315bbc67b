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

/** A snapshot of an `AmqpMessenger`'s connection, for logs and health checks. */
export interface AmqpMessengerState {
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
