import type { ExecutionContext } from '@nestjs/common';
import type { JsonObject } from '../kernel/message.interface.js';

/**
 * Returns the fields added to every message body of a request before it is
 * sent. Keys already present in a body are kept as the handler set them.
 */
export type MessageEnricher = (context: ExecutionContext) => Readonly<JsonObject>;

/** The options of `MessagingModule` that decide what a request adds to its messages. */
export interface EnrichmentSettings {
  /**
   * Fields added to every message of a request, or `false` to add none. Called once per
   * request, when its first message is added (what `add()` returns already has them); what
   * it throws fails that `add()`.
   * Default: `author` (from `request.user`, see `authorOf`) and `comment`
   * (from the `commentHeader` request header, `null` when absent), as PDC does.
   * For a WebSocket message both come from the connection's handshake request
   * (socket.io's `client.request`; with the `ws` adapter, what the gateway
   * stored as `client.request`); microservice messages get neither field.
   */
  enrich?: MessageEnricher | false;
  /** Request header whose value becomes `comment`. Default: `PDC-Change-Comment`. */
  commentHeader?: string;
  /**
   * Reads the author's name from the request.
   * Default: `request.user.username`, or `''` for an anonymous request.
   */
  authorOf?: (request: unknown) => string;
}

/** The options of `MessagingModule` that bound what one request may add. */
export interface RequestBatchSettings {
  /**
   * How many messages one request, one `MessageQueue.run()` or one database
   * transaction (with `withTransactionalOutbox()`) may hold; the next
   * `add()` throws `MessageLimitError`. A whole number >= 1. Default: `1000`.
   */
  maxMessagesPerRequest?: number;
}
