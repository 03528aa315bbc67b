/**
 * Ready-made `address` templates: `{prefix}` is `topicPrefix`, `{topic}` the
 * message topic, joined as they are (`eng.pdc` + `.compose`).
 */
export const AMQP_ADDRESS = {
  /** ActiveMQ Classic (the seed's bus): `topic://VirtualTopic.eng.pdc.compose`. The default. */
  activemq: 'topic://{prefix}{topic}',
  /** ActiveMQ Artemis: the address name itself, `eng.pdc.compose` (multicast address by broker config). */
  artemis: '{prefix}{topic}',
  /** RabbitMQ 3.x AMQP 1.0 plugin: routing key on `amq.topic`. */
  rabbitmq3: '/topic/{prefix}{topic}',
  /** RabbitMQ 3.x, an explicit exchange: `/exchange/amq.topic/eng.pdc.compose`. */
  rabbitmq3Exchange: '/exchange/amq.topic/{prefix}{topic}',
  /** RabbitMQ 4.x native AMQP 1.0 (v2 addresses): `/exchanges/amq.topic/eng.pdc.compose`. */
  rabbitmq4: '/exchanges/amq.topic/{prefix}{topic}',
} as const;

/**
 * How the JSON body goes on the wire (the bare message's body, AMQP 1.0 part 3, section 3.2):
 * - `'amqp-value'`: the JSON text as an AMQP string in an amqp-value section (3.2.7), as PDC's
 *   Proton client sent it; ActiveMQ and Artemis hand it to JMS consumers as a `TextMessage`.
 *   RabbitMQ's AMQP 1.0 → 0-9-1 conversion passes it on AMQP-encoded (section descriptor, type code
 *   and length before the text), which 0-9-1 consumers such as fedora-messaging's cannot decode.
 * - `'data'`: the UTF-8 bytes of the JSON text in a single data section (3.2.6), with
 *   `content-encoding` `utf-8`: RabbitMQ hands exactly these bytes to 0-9-1 consumers as the body
 *   (and `content_type` / `content_encoding` as properties). JMS consumers get a `BytesMessage`.
 */
export type AmqpBodySection = 'amqp-value' | 'data';

/**
 * How the messenger authenticates (SASL, AMQP 1.0 part 5, section 5.3):
 * - `'auto'`: from the credentials: PLAIN with `username` and `password`, ANONYMOUS with
 *   `username` alone, and no SASL layer at all without them (a client certificate, if set, is then
 *   checked by TLS only, as the seed did against ActiveMQ).
 * - `'external'`: SASL EXTERNAL (RFC 4422, appendix A): the broker takes the user from the client
 *   `certificate` presented in the TLS handshake (RabbitMQ's `rabbitmq_auth_mechanism_ssl` plugin:
 *   the certificate's distinguished name, or its CN with `ssl_cert_login_from = common_name`).
 *   Needs `certificate` and `amqps://` URLs; no `username` or `password`, in the options or the URLs.
 */
export type AmqpSaslMode = 'auto' | 'external';

/** Options of `AmqpMessenger`; the first seven have the meaning of the seed's `MESSAGE_BUS` keys. */
export interface AmqpMessengerOptions {
  /**
   * Brokers, `amqp://` or `amqps://` URLs, tried in random order (seed: `URLS`). Required.
   * A URL may carry credentials (`amqp://user:password@host`, percent-encoded), used for that
   * broker, and a virtual host as its path (`amqp://host/tenant-1`, `%2F` for `/`); one that
   * contradicts `username`, `password` or `vhost` fails at start-up. Logs, errors and `state`
   * show URLs with the password as `***`.
   */
  urls: readonly string[];
  /** Seconds to wait for one broker to open a connection before trying the next (seed: `CONNECTION_TIMEOUT`). Default: `60`. */
  connectionTimeout?: number;
  /**
   * PEM file with the client certificate, for `amqps://` (seed: `CERTIFICATE`). It may also hold
   * the private key, as the seed's file does; otherwise set `privateKey`. Default: no client certificate.
   */
  certificate?: string;
  /** PEM file with the client's private key, when `certificate` holds only the certificate. Default: the key inside `certificate`. */
  privateKey?: string;
  /** PEM file with the CA certificate(s) that signed the brokers' certificates (seed: `CACERT`). Default: the system's CAs. */
  caCertificate?: string;
  /** Prepended as-is to every topic (seed: `TOPIC_PREFIX`). Default: `''`. */
  topicPrefix?: string;
  /** Link target template, with `{prefix}` and `{topic}`; see `AMQP_ADDRESS`. Default: `AMQP_ADDRESS.activemq`. */
  address?: string;
  /**
   * SASL mechanism choice: `'auto'` (from `username` / `password`) or `'external'` (the client
   * certificate's user, SASL EXTERNAL); see `AmqpSaslMode`. Default: `'auto'`.
   */
  sasl?: AmqpSaslMode;
  /**
   * Body section: `'amqp-value'` (JSON text as an AMQP string, as PDC sent it) or `'data'` (UTF-8 JSON
   * bytes with `content-encoding` `utf-8`, what AMQP 0-9-1 consumers behind RabbitMQ can read); see
   * `AmqpBodySection`. Default: `'amqp-value'`.
   */
  body?: AmqpBodySection;
  /** SASL user name (PLAIN with `password`, ANONYMOUS without). Default: no SASL layer. */
  username?: string;
  /** SASL password. Default: none. */
  password?: string;
  /**
   * Virtual host, sent as the open frame's hostname `vhost:<name>` (RabbitMQ 3.x and 4.x).
   * A broker without it refuses the connection (RabbitMQ: `amqp:unauthorized-access`), shown
   * as `state.status` `refused`. Default: the URL's path, else none (the broker's default).
   */
  vhost?: string;
  /**
   * Check that the broker's certificate names the host in the URL. Turn off only
   * for brokers whose certificates do not name their host (the seed did not check). Default: `true`.
   */
  verifyHostname?: boolean;
  /** Milliseconds the broker has to settle each batch (and to open a link) before `send()` rejects. Default: `30000`. */
  sendTimeoutMs?: number;
  /** First delay, in ms, before reconnecting after a broker drop; doubles up to `reconnectDelayMaxMs`. Default: `500`. */
  reconnectDelayMs?: number;
  /**
   * Largest delay between reconnection attempts, in ms; also the delay between attempts after a
   * broker refused the connection (authentication, permission). Default: `30000`.
   */
  reconnectDelayMaxMs?: number;
  /** AMQP container id. Default: `nestjs-messaging-<hostname>-<pid>`. */
  containerId?: string;
  /**
   * Milliseconds a sender link (and its session) may stay unused before it is
   * closed; the next message to its address attaches a new one. Frees the
   * broker's sessions when topics are dynamic. Default: `60000`.
   */
  idleLinkTimeoutMs?: number;
  /**
   * Most sender links open at once (one session each; fewer when the broker's
   * `channel-max` is lower). Past it the least recently used idle link is
   * closed; when every link is busy, messages to a new address fail as
   * `link-limit` (not counted) and are sent again later. Default: `64`
   * (RabbitMQ 4's `session_max_per_connection`).
   */
  maxLinks?: number;
}

/** A broker URL, parsed. */
export interface BrokerTarget {
  /** The URL with its password as `***`: the only form that is logged or shown. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** SASL credentials: the URL's, else the options'. */
  readonly username?: string;
  readonly password?: string;
  /** Virtual host: the URL's path, else the `vhost` option. */
  readonly vhost?: string;
}

/** Options with defaults applied and files read. */
export interface ResolvedAmqpOptions {
  readonly targets: readonly BrokerTarget[];
  readonly connectionTimeoutMs: number;
  readonly tls: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  readonly topicPrefix: string;
  readonly address: string;
  readonly verifyHostname: boolean;
  readonly sendTimeoutMs: number;
  readonly reconnectDelayMs: number;
  readonly reconnectDelayMaxMs: number;
  readonly containerId: string;
  readonly idleLinkTimeoutMs: number;
  readonly maxLinks: number;
  readonly sasl: AmqpSaslMode;
  readonly body: AmqpBodySection;
}
