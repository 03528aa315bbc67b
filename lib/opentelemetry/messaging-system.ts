/** `messaging.system` of the shipped messengers that differ from the default rule. */
const KNOWN_SYSTEMS: Readonly<Partial<Record<string, string>>> = {
  // AMQP 0-9-1 to RabbitMQ: the semantic conventions' own value.
  FedoraMessagingMessenger: 'rabbitmq',
};

/**
 * The `messaging.system` attribute for a messenger class: `rabbitmq` for
 * `FedoraMessagingMessenger` (the conventions' value), otherwise the class name
 * without `Messenger`, lower-cased: `AmqpMessenger` → `amqp` (AMQP 1.0 has no
 * value of its own in the conventions, and the broker behind it is not known),
 * `FedmsgMessenger` → `fedmsg`, `LoggingMessenger` → `logging`.
 */
export function messagingSystemOf(messengerClass: string): string {
  const known = KNOWN_SYSTEMS[messengerClass];
  if (known !== undefined) return known;
  const name = messengerClass.replace(/Messenger$/, '').toLowerCase();
  return name.length > 0 ? name : 'unknown';
}
