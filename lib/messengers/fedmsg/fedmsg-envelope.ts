import type { JsonObject, Message } from '../../kernel/message.interface.js';
import { canonicalJson, quote } from './canonical-json.js';

/** The fedmsg envelope every message travels in, as `fedmsg.core.publish` builds it. */
export interface FedmsgEnvelope {
  readonly topic: string;
  readonly msg: Readonly<JsonObject>;
  /** Seconds since the Unix epoch, an integer. */
  readonly timestamp: number;
  /** `<year>-<uuid4>`. */
  readonly msg_id: string;
  /** The publisher's counter, 1 for its first message. */
  readonly i: number;
  readonly username: string;
  /** Present on signed messages: always `"x509"`. */
  readonly crypto?: 'x509';
  /** Present on signed messages: base64 signature in lines of 76 characters. */
  readonly signature?: string;
  /** Present on signed messages: base64 PEM certificate in lines of 76 characters. */
  readonly certificate?: string;
}

/** What fedmsg needs besides the message to name a topic. */
export interface TopicScheme {
  readonly topicPrefix: string;
  readonly environment: string;
  readonly modname: string;
}

/**
 * `<prefix>.<environment>.<modname>.<topic without leading or trailing dots>`,
 * as fedmsg builds it; a topic that already starts with the prefix is kept.
 */
export function fedmsgTopic(topic: string, scheme: TopicScheme): string {
  const stripped = topic.replace(/^\.+|\.+$/g, '');
  if (stripped === scheme.topicPrefix || stripped.startsWith(`${scheme.topicPrefix}.`)) return stripped;
  return `${scheme.topicPrefix}.${scheme.environment}.${scheme.modname}.${stripped}`;
}

/**
 * The envelope of `message`. `msg_id` and `timestamp` come from the message,
 * not from the clock, so a message sent again keeps them (consumers such as
 * datanommer deduplicate on `msg_id`).
 */
export function fedmsgEnvelope(message: Message, topic: string, counter: number, username: string): FedmsgEnvelope {
  return {
    topic,
    msg: message.body,
    timestamp: Math.floor(message.timestamp / 1000),
    msg_id: `${new Date(message.timestamp).getFullYear()}-${message.id}`,
    i: counter,
    username,
  };
}

/**
 * The canonical JSON of an envelope. Unsigned envelopes always have the same
 * six keys, so they are written in their sorted order directly instead of
 * being sorted for every message; the result is the same as `canonicalJson`.
 */
export function encodeEnvelope(envelope: FedmsgEnvelope): string {
  if (envelope.crypto !== undefined) return canonicalJson(envelope);
  return (
    `{"i":${envelope.i},"msg":${canonicalJson(envelope.msg)},"msg_id":${quote(envelope.msg_id)},` +
    `"timestamp":${envelope.timestamp},"topic":${quote(envelope.topic)},"username":${quote(envelope.username)}}`
  );
}
