// `nestjs-messaging/amqp`: the AMQP 1.0 messenger (needs the optional peer `rhea`).
export { AmqpMessenger } from './amqp.messenger.js';
export {
  AMQP_ADDRESS,
  type AmqpBodySection,
  type AmqpMessengerOptions,
  type AmqpSaslMode,
} from './amqp-options.interface.js';
export type { AmqpConnectionStatus, AmqpMessengerState } from './amqp-state.js';
export {
  AmqpConnectionError,
  AmqpConnectionRefusedError,
  type AmqpConnectAttempt,
  AmqpSendError,
  type AmqpDeliveryFailure,
  type AmqpOutcome,
  type AmqpRefusal,
} from './amqp.errors.js';
