import type { MessengerState, MessengerStatus } from '../../kernel/messenger-state.js';

/** Counters of what a `FedmsgMessenger` handed to its socket, since it was created. */
export interface FedmsgStats {
  /** Messages handed to the socket: `send()` reported them sent. */
  readonly published: number;
  /**
   * Messages `send()` did not hand to the socket and reported as not sent
   * (rejected, or named in a `MessengerSendError`'s `failures`), so the
   * outbox keeps them and sends them again: the messenger was not open, the
   * socket was closed or refused them, or a message could not be encoded or
   * signed. It does not count what a lagging subscriber misses at its
   * high-water mark: ZeroMQ drops that for that subscriber alone and does
   * not report it (fedmsg consumers see a gap in the envelope's `i`).
   */
  readonly dropped: number;
}

/**
 * A `FedmsgMessenger`'s state: `starting` until its socket is bound (or connected to its
 * relays), then `connected` (ZeroMQ has no connection to lose: subscribers come and go),
 * `stopped` once closed. A new snapshot on each change.
 */
export class FedmsgState {
  private current: MessengerState = { status: 'starting', since: new Date() };

  get state(): MessengerState {
    return this.current;
  }

  set(status: MessengerStatus, url?: string): void {
    this.current = url === undefined ? { status, since: new Date() } : { status, url, since: new Date() };
  }
}
