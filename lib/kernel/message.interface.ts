/** A value JSON can represent exactly. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/** A JSON object: the shape of every message body. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Message headers: flat scalar values, mapped by each messenger to its wire format. */
export type MessageHeaders = Readonly<Record<string, string | number | boolean>>;

/**
 * The immutable envelope of one message. Messengers map it to their wire
 * format (fedmsg envelope, AMQP properties, ...).
 */
export interface Message {
  /** UUID, unique per message and stable across retries, so consumers can deduplicate. */
  readonly id: string;
  /** Topic as given to `add()`, for example `.releases.added`; prefixes are a messenger's concern. */
  readonly topic: string;
  /**
   * The ordering key: messages of one key are delivered in order, one at a time. Default (set by
   * `createMessage`): the topic. `null`: no ordering; the message may go out in parallel with
   * any other. A non-empty string otherwise.
   */
  readonly key: string | null;
  /** The JSON body, a deep-frozen snapshot taken when the message was added. */
  readonly body: Readonly<JsonObject>;
  /** Scalar headers (empty by default). */
  readonly headers: MessageHeaders;
  /** When the message was added, in milliseconds since the Unix epoch. */
  readonly timestamp: number;
}
