import type { FedoraMessagingMessengerOptions } from './fedora-messaging-options.interface.js';

/** Options the preset fills in: everything but the routing key prefix. */
export type FedoraMessagingPresetOptions = Omit<FedoraMessagingMessengerOptions, 'topicPrefix'>;

/**
 * Fedora's settings for `FedoraMessagingMessenger`: the routing key prefixes
 * of Fedora's production (`org.fedoraproject.prod`) and staging
 * (`org.fedoraproject.stg`) buses, and the `amq.topic` exchange. The broker
 * URLs, certificates and `app` are yours to give (Fedora infrastructure
 * issues them; the certificate's CN is the AMQP user).
 *
 * @example
 * ```ts
 * new FedoraMessagingMessenger(
 *   fedoraMessaging.staging({ urls: [process.env.FEDORA_MESSAGING_URL!], app: 'pdc', certificate, privateKey, caCertificate }),
 * );
 * ```
 */
export const fedoraMessaging = {
  /** The routing key prefixes of Fedora's buses. */
  prefixes: { production: 'org.fedoraproject.prod', staging: 'org.fedoraproject.stg' },
  /** Options for Fedora's production bus: prefix `org.fedoraproject.prod`, exchange `amq.topic` unless given. */
  production(options: FedoraMessagingPresetOptions): FedoraMessagingMessengerOptions {
    return { exchange: 'amq.topic', ...options, topicPrefix: fedoraMessaging.prefixes.production };
  },
  /** Options for Fedora's staging bus: prefix `org.fedoraproject.stg`, exchange `amq.topic` unless given. */
  staging(options: FedoraMessagingPresetOptions): FedoraMessagingMessengerOptions {
    return { exchange: 'amq.topic', ...options, topicPrefix: fedoraMessaging.prefixes.staging };
  },
} as const;
