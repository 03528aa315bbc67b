import type { Messenger } from './messenger.interface.js';

/**
 * Where a messenger's connection to its bus stands:
 *
 * - `starting`: not started yet, or the first connection is being opened;
 * - `connected`: connected (to `url`), or, for a bus without connections, ready;
 * - `reconnecting`: no broker could be reached, or the connection was lost,
 *   or the broker blocks it for now (`condition` `blocked`: a resource alarm)
 *   (`reason` says why); the messenger retries by itself;
 * - `refused`: a broker refused the connection for a reason an operator must
 *   fix (wrong credentials, no permission; `condition` and `reason` give the
 *   broker's words);
 * - `stopped`: shut down.
 */
export type MessengerStatus = 'starting' | 'connected' | 'reconnecting' | 'refused' | 'stopped';

/** A snapshot of a messenger's connection, for logs and health checks. */
export interface MessengerState {
  readonly status: MessengerStatus;
  /** Why the messenger is not connected (the broker's reason when it refused); `undefined` when connected or starting. */
  readonly reason?: string;
  /** The broker's condition or reply code when it refused or closed the connection, such as `amqp:unauthorized-access` or `403`. */
  readonly condition?: string;
  /** The broker connected to, or that refused or dropped the connection, when known; never with a password. */
  readonly url?: string;
  /** When the status last changed. */
  readonly since: Date;
}

/**
 * A messenger that reports its connection's state, as every shipped broker
 * messenger does (`AmqpMessenger`, `FedmsgMessenger`,
 * `FedoraMessagingMessenger`). Reading `state` must be cheap and must never
 * connect: health checks read it on every probe.
 */
export interface StatefulMessenger extends Messenger {
  readonly state: MessengerState;
}

/** The messenger's state, or `undefined` for a messenger that does not report one (such as your own). */
export function messengerStateOf(messenger: Messenger): MessengerState | undefined {
  const state: unknown = (messenger as Partial<StatefulMessenger>).state;
  return typeof state === 'object' && state !== null && typeof (state as Partial<MessengerState>).status === 'string'
    ? (state as MessengerState)
    : undefined;
}
