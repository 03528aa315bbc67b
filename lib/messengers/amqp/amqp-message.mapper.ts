import type { JsonValue, Message } from '../../kernel/message.interface.js';

/** The AMQP 1.0 message rhea sends for one of ours. */
export interface AmqpOutgoingMessage {
  readonly message_id: string;
  readonly durable: true;
  readonly content_type: 'application/json';
  readonly creation_time: Date;
  readonly subject: string;
  readonly body: string;
  readonly application_properties: Readonly<Record<string, string | number | boolean | null>>;
}

type Scalar = string | number | boolean | null;

const isScalar = (value: JsonValue | undefined): value is Scalar =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/**
 * Maps a message as PDC's rhmsg backend did: durable, the body as JSON
 * text, and application properties for every top-level scalar of the body
 * (same name) and every scalar inside `new_value` (`DATA:<key>`), so
 * brokers can filter with selectors. The message's headers are added last
 * and win over body fields of the same name.
 */
export function toAmqpMessage(message: Message): AmqpOutgoingMessage {
  const properties: Record<string, Scalar> = {};
  const body = message.body;
  for (const key of Object.keys(body)) {
    const value = body[key];
    if (isScalar(value)) properties[key] = value;
  }
  const newValue = body.new_value;
  if (newValue !== null && typeof newValue === 'object' && !Array.isArray(newValue)) {
    for (const key of Object.keys(newValue)) {
      const value = newValue[key];
      if (isScalar(value)) properties[`DATA:${key}`] = value;
    }
  }
  for (const key of Object.keys(message.headers)) properties[key] = message.headers[key];
  return {
    message_id: message.id,
    durable: true,
    content_type: 'application/json',
    creation_time: new Date(message.timestamp),
    subject: message.topic,
    body: JSON.stringify(body),
    application_properties: properties,
  };
}

/** The link target for a topic: the `address` template filled in. */
export function amqpAddress(template: string, prefix: string, topic: string): string {
  return template.replace('{prefix}', prefix).replace('{topic}', topic);
}
