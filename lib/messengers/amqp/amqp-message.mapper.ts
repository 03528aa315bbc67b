import type { JsonValue, Message } from '../../kernel/message.interface.js';
import type { AmqpBodySection } from './amqp-options.interface.js';

/** The AMQP 1.0 message rhea sends for one of ours. */
export interface AmqpOutgoingMessage {
  readonly message_id: string;
  readonly durable: true;
  readonly content_type: 'application/json';
  /** Only with a `data` body: the bytes are UTF-8 text. */
  readonly content_encoding?: 'utf-8';
  readonly creation_time: Date;
  readonly subject: string;
  /** The JSON text (an amqp-value section), or rhea's data section holding its UTF-8 bytes. */
  readonly body: unknown;
  readonly application_properties: Readonly<Record<string, string | number | boolean | null>>;
}

/** Puts the JSON text of a body in the body section chosen, with the properties that go with it. */
export type AmqpBodyEncoder = (json: string) => Pick<AmqpOutgoingMessage, 'body' | 'content_encoding'>;

/** The part of rhea's `message` module that builds a data section. */
export interface RheaSections {
  data_section(data: Buffer): unknown;
}

/** The JSON text as an AMQP string, rhea's default: an amqp-value section (AMQP 1.0 part 3, 3.2.7). */
export const amqpValueBody: AmqpBodyEncoder = (json) => ({ body: json });

/**
 * The encoder for `section`: `amqp-value` (the JSON text as an AMQP string, 3.2.7) or `data` (its
 * UTF-8 bytes in one data section, 3.2.6, with `content-encoding` `utf-8`: a single data section is
 * what RabbitMQ's AMQP 1.0 → 0-9-1 conversion hands on as the plain body).
 */
export function amqpBodyEncoder(section: AmqpBodySection, sections: RheaSections): AmqpBodyEncoder {
  if (section === 'amqp-value') return amqpValueBody;
  return (json) => ({ body: sections.data_section(Buffer.from(json, 'utf8')), content_encoding: 'utf-8' });
}

type Scalar = string | number | boolean | null;

const isScalar = (value: JsonValue | undefined): value is Scalar =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/**
 * Maps a message as PDC's rhmsg backend did: durable, the body as JSON
 * text, and application properties for every top-level scalar of the body
 * (same name) and every scalar inside `new_value` (`DATA:<key>`), so
 * brokers can filter with selectors. The message's headers are added last
 * and win over body fields of the same name. `encodeBody` chooses the body
 * section (default: amqp-value, as PDC).
 */
export function toAmqpMessage(message: Message, encodeBody: AmqpBodyEncoder = amqpValueBody): AmqpOutgoingMessage {
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
    ...encodeBody(JSON.stringify(body)),
    application_properties: properties,
  };
}

/** The link target for a topic: the `address` template filled in. */
export function amqpAddress(template: string, prefix: string, topic: string): string {
  return template.replace('{prefix}', prefix).replace('{topic}', topic);
}
