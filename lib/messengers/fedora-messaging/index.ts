// `nestjs-messaging/fedora-messaging`: the fedora-messaging messenger, AMQP 0-9-1 (needs the optional peer `amqplib`).
export { FedoraMessagingMessenger } from './fedora-messaging.messenger.js';
export type {
  FedoraMessagingMessengerOptions,
  FedoraMessagingTopicOptions,
} from './fedora-messaging-options.interface.js';
export { fedoraMessaging, type FedoraMessagingPresetOptions } from './fedora-messaging.preset.js';
export {
  FEDORA_MESSAGING_FILTER_KINDS,
  FEDORA_MESSAGING_SEVERITIES,
  fedoraMessagingRoutingKey,
  sentAt,
  type FedoraMessagingFilters,
  type FedoraMessagingPublish,
  type FedoraMessagingSeverity,
  toFedoraMessagingPublish,
} from './fedora-messaging.wire-format.js';
export {
  FedoraMessagingConnectionError,
  type FedoraMessagingConnectAttempt,
  type FedoraMessagingFailure,
  type FedoraMessagingOutcome,
  FedoraMessagingSendError,
} from './fedora-messaging.errors.js';
