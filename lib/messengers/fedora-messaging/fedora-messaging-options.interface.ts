import type { Message } from '../../kernel/message.interface.js';
import type { FedoraMessagingFilters, FedoraMessagingSeverity, WireSettings } from './fedora-messaging.wire-format.js';

/** Per-topic overrides of the wire-format headers. */
export interface FedoraMessagingTopicOptions {
  /** `fedora_messaging_schema` for this topic. Default: the `schema` option. */
  readonly schema?: string;
  /** `fedora_messaging_schema_package` for this topic. Default: the `schemaPackage` option. */
  readonly schemaPackage?: string;
  /** `fedora_messaging_severity` for this topic: 10, 20, 30 or 40. Default: the `severity` option. */
  readonly severity?: FedoraMessagingSeverity;
}

/**
 * Options of `FedoraMessagingMessenger`. Only `urls` and `app` are required;
 * `fedoraMessaging.production()` / `.staging()` fill in Fedora's prefixes.
 */
export interface FedoraMessagingMessengerOptions {
  /**
   * Brokers, `amqp://` or `amqps://` URLs, tried in the order given (after
   * a failure, from the next one). A URL may carry `user:password@` (PLAIN)
   * and the virtual host as its path (`amqps://host/%2Fpubsub` for `/pubsub`).
   * Logs, errors and `state` show URLs with the password as `***`. Required.
   */
  readonly urls: readonly string[];
  /** `client_properties.app`, the application's name, which Fedora's broker policy requires. Required, non-empty. */
  readonly app: string;
  /** `client_properties.app_version`. Default: none. */
  readonly appVersion?: string;
  /** More `client_properties`, such as `app_url` and `app_contacts_email` (fedora-messaging recommends both). Default: none. */
  readonly clientProperties?: Readonly<Record<string, string>>;
  /** Exchange to publish to (fedora-messaging's `publish_exchange`). Default: `'amq.topic'`. */
  readonly exchange?: string;
  /**
   * Routing key prefix (fedora-messaging's `topic_prefix`), joined with a
   * dot: `org.fedoraproject.prod` + `.compose.created` →
   * `org.fedoraproject.prod.compose.created`. A trailing dot is dropped. Default: `''`.
   */
  readonly topicPrefix?: string;
  /** `fedora_messaging_schema` header: the schema name consumers look up. Default: `'base.message'`. */
  readonly schema?: string;
  /** `fedora_messaging_schema_package` header: the Python package with the schema. Default: none. */
  readonly schemaPackage?: string;
  /** `fedora_messaging_severity` header: 10 debug, 20 info, 30 warning, 40 error. Default: `20`. */
  readonly severity?: FedoraMessagingSeverity;
  /**
   * Overrides per topic, keyed by the topic as given to `add()` (`'.compose.created'`;
   * the leading dot may be left out). A message header `fedora_messaging_severity`
   * overrides the severity for that message. Default: none.
   */
  readonly topics?: Readonly<Record<string, FedoraMessagingTopicOptions>>;
  /**
   * AMQP `priority` property (0–255; fedora-messaging's `publish_priority`),
   * mirrored as a `priority` header. Default: unset (no property, no header).
   */
  readonly priority?: number;
  /**
   * Names the message is about, per kind, for the `fedora_messaging_<kind>_<name>: true`
   * filter headers (e.g. `(m) => ({ user: [String(m.body.author)] })`). Called once per
   * send of each message; a throw fails that message (`invalid`: dead at once, reason
   * `rejected`, since it throws again for the same message). Default: no filter headers.
   */
  readonly filters?: (message: Message) => FedoraMessagingFilters;
  /**
   * Publish with the `mandatory` flag: a message no queue is bound for comes
   * back (`basic.return`) and `send()` reports it as failed (not retryable:
   * dead at once, reason `rejected`), instead of the broker acknowledging and
   * dropping it. fedora-messaging itself publishes without it and so loses
   * such messages silently. Default: `true`.
   */
  readonly mandatory?: boolean;
  /** PEM file with the CA certificate(s) of the brokers (fedora-messaging's `tls.ca_cert`). Default: the system's CAs. */
  readonly caCertificate?: string;
  /**
   * PEM file with the client certificate (`tls.certfile`). With it, the
   * messenger authenticates with SASL EXTERNAL: the certificate's CN is the
   * AMQP user, as on Fedora's broker. Needs `amqps://` URLs. Default: none (PLAIN).
   */
  readonly certificate?: string;
  /** PEM file with the client certificate's private key (`tls.keyfile`). Default: the key inside `certificate`. */
  readonly privateKey?: string;
  /** Check that the broker's certificate names the host in the URL. Default: `true`. */
  readonly verifyHostname?: boolean;
  /** Milliseconds one broker has to open a connection (TCP, TLS, AMQP handshake) before the next is tried. Default: `10000`. */
  readonly connectionTimeoutMs?: number;
  /** Milliseconds the broker has to confirm every message of a batch before `send()` rejects. Default: `30000`. */
  readonly sendTimeoutMs?: number;
  /** First delay, in ms, before reconnecting after a failure; doubles up to `reconnectDelayMaxMs`. Default: `500`. */
  readonly reconnectDelayMs?: number;
  /** Largest delay between reconnection attempts, in ms; also the delay after a broker refused the login. Default: `30000`. */
  readonly reconnectDelayMaxMs?: number;
  /** AMQP heartbeat, in seconds (0 turns it off). Default: `30`. */
  readonly heartbeatSeconds?: number;
}

/** One broker URL, parsed. */
export interface FedoraMessagingBroker {
  /** The URL with its password as `***`: the only form logged or shown. */
  readonly url: string;
  readonly protocol: 'amqp' | 'amqps';
  readonly hostname: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly vhost: string;
}

/** Options with defaults applied and files read. */
export interface ResolvedFedoraMessagingOptions {
  readonly brokers: readonly FedoraMessagingBroker[];
  readonly clientProperties: Readonly<Record<string, string>>;
  readonly exchange: string;
  readonly wire: WireSettings;
  /** Per-topic wire settings, keyed by topic without its leading dots. */
  readonly topics: ReadonlyMap<string, WireSettings>;
  readonly mandatory: boolean;
  readonly tls: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  readonly verifyHostname: boolean;
  readonly connectionTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly reconnectDelayMs: number;
  readonly reconnectDelayMaxMs: number;
  readonly heartbeatSeconds: number;
}
