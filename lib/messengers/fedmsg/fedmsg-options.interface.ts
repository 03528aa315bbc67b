/** Paths of the PEM files used to sign messages, as fedmsg's X.509 backend does. */
export interface FedmsgSigningOptions {
  /** PEM file holding the X.509 certificate of this publisher. */
  certificate: string;
  /** PEM file holding the RSA private key matching `certificate` (unencrypted). */
  privateKey: string;
}

/**
 * Options of `FedmsgMessenger`. Defaults are fedmsg's own, so a publisher
 * configured like a fedmsg one behaves like it.
 */
export interface FedmsgMessengerOptions {
  /**
   * ZeroMQ endpoints, such as `tcp://*:3000` or `ipc:///run/pdc.sock`. By
   * default the publisher binds the first one it can (fedmsg's `endpoints`
   * for this service); with `active: true` it connects to every one of them
   * (fedmsg's `relay_inbound`). Required.
   */
  endpoints: readonly string[];
  /** Connect to a fedmsg-relay's inbound endpoint(s) instead of binding. Default: `false`. */
  active?: boolean;
  /** First part of every topic. Default: `'org.fedoraproject'`. */
  topicPrefix?: string;
  /** Second part of every topic (fedmsg: `prod`, `stg` or `dev`). Default: `'dev'`. */
  environment?: string;
  /** Third part of every topic, the sending application. Default: `'pdc'`. */
  modname?: string;
  /** `username` field of every envelope. Default: the OS user running the process. */
  username?: string;
  /**
   * ZeroMQ send high-water mark, in messages queued per subscriber; `0`
   * means no limit (fedmsg's default: a stuck subscriber's queue then grows
   * in memory without bound). When a subscriber's queue is full, ZeroMQ
   * drops further messages for that subscriber only, without reporting it
   * (not in `stats.dropped`); the others and `send()` are not held back.
   */
  highWaterMark?: number;
  /** How long, in ms, unsent messages linger when the socket closes. Default: `1000`. */
  lingerMs?: number;
  /** Turn TCP keepalive on. Default: `true`. */
  tcpKeepalive?: boolean;
  /** Keepalive probes before the connection is considered dead. Default: `3`. */
  tcpKeepaliveCount?: number;
  /** Idle seconds before the first keepalive probe. Default: `60`. */
  tcpKeepaliveIdleSeconds?: number;
  /** Seconds between keepalive probes. Default: `5`. */
  tcpKeepaliveIntervalSeconds?: number;
  /** First reconnect delay, in ms (active mode). Default: `100`. */
  reconnectIntervalMs?: number;
  /** Largest reconnect delay, in ms (active mode). Default: `1000`. */
  reconnectIntervalMaxMs?: number;
  /**
   * How long, in ms, publishing waits for subscribers to join: after the
   * socket opens, and whenever a new peer connects, until its subscription
   * arrives (fedmsg's `post_init_sleep`). Default: `500`; `0`: never wait.
   * Bounded whatever peers do: after a peer's join ends without a
   * subscription (it left, or the wait ran out), new peers wait nothing for
   * `joinTimeoutMs`, doubling with each such join in a row up to 64 ×
   * (a subscription that answers a join starts over); and all peers' joins
   * together hold publishing for at most `joinTimeoutMs` plus 10 % of the
   * time passed.
   */
  joinTimeoutMs?: number;
  /** Sign every message with X.509 (fedmsg's `sign_messages`). Default: unsigned. */
  sign?: FedmsgSigningOptions;
}

/** Options with every default applied. */
export type ResolvedFedmsgOptions = Required<Omit<FedmsgMessengerOptions, 'sign'>> & {
  readonly sign?: FedmsgSigningOptions;
};
