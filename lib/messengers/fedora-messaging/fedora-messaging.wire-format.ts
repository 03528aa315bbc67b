import type { Message } from '../../kernel/message.interface.js';

/**
 * The four severities fedora-messaging consumers accept (`DEBUG`, `INFO`,
 * `WARNING`, `ERROR` in `fedora_messaging/message.py`); any other value
 * fails the consumer's header schema and the message is dropped.
 */
export const FEDORA_MESSAGING_SEVERITIES = [10, 20, 30, 40] as const;

/** A fedora-messaging severity: 10 debug, 20 info (the default), 30 warning, 40 error. */
export type FedoraMessagingSeverity = (typeof FEDORA_MESSAGING_SEVERITIES)[number];

/** The kinds of filter header fedora-messaging defines: `fedora_messaging_<kind>_<name>: true`. */
export const FEDORA_MESSAGING_FILTER_KINDS = ['user', 'group', 'rpm', 'container', 'module', 'flatpak'] as const;

/**
 * Names per filter kind, returned by the `filters` option for one message:
 * `{ user: ['alice'] }` becomes the header `fedora_messaging_user_alice: true`,
 * which Fedora's notification service (FMN) filters on.
 */
export type FedoraMessagingFilters = Partial<
  Record<(typeof FEDORA_MESSAGING_FILTER_KINDS)[number], readonly string[] | undefined>
>;

/** The message header that sets one message's severity; every other `fedora_messaging*` name is reserved. */
export const SEVERITY_HEADER = 'fedora_messaging_severity';

/** What the wire format needs to know besides the message. */
export interface WireSettings {
  /** Routing key prefix without its trailing dot (`org.fedoraproject.prod`), or `''`. */
  readonly topicPrefix: string;
  readonly schema: string;
  readonly schemaPackage?: string;
  readonly severity: FedoraMessagingSeverity;
  readonly priority?: number;
  readonly filters?: (message: Message) => FedoraMessagingFilters;
}

/** The AMQP 0-9-1 `basic.publish` of one message: routing key, body and properties. */
export interface FedoraMessagingPublish {
  readonly routingKey: string;
  readonly content: Buffer;
  readonly properties: {
    readonly contentType: 'application/json';
    readonly contentEncoding: 'utf-8';
    readonly deliveryMode: 2;
    readonly messageId: string;
    readonly priority?: number;
    readonly headers: Readonly<Record<string, string | number | boolean>>;
  };
}

/**
 * The routing key fedora-messaging publishes with: `<prefix>.<topic>`, the
 * prefix without a trailing dot (`Message._encoded_routing_key`), our
 * topic's leading and trailing dots stripped (as the fedmsg messenger does);
 * the bare topic when the prefix is empty.
 */
export function fedoraMessagingRoutingKey(topicPrefix: string, topic: string): string {
  const stripped = topic.replace(/^\.+|\.+$/g, '');
  return topicPrefix === '' ? stripped : `${topicPrefix}.${stripped}`;
}

/**
 * `sent-at` as Python's `datetime.now(tz=timezone.utc).replace(microsecond=0).isoformat()`:
 * `2026-11-30T21:28:00+00:00` (UTC, no fractional seconds, `+00:00`, never `Z`).
 */
export function sentAt(now: Date): string {
  return `${now.toISOString().slice(0, 19)}+00:00`;
}

/**
 * Maps one message to what a fedora-messaging publisher puts on the wire,
 * following `Message._build_properties`, `_filter_headers`,
 * `_encoded_routing_key` and `_encoded_body` in fedora-infra/fedora-messaging
 * `fedora_messaging/message.py`, and `docs/api/wire-format.rst`:
 *
 * - properties `content_type` `application/json`, `content_encoding`
 *   `utf-8`, `delivery_mode` 2 (persistent), `message_id` our message id (a
 *   plain UUID, stable across retries; upstream draws a fresh uuid4);
 *   `priority` only when `settings.priority` is set, mirrored as a
 *   `priority` header (upstream always writes that header, `0` when unset);
 * - headers `fedora_messaging_schema`, `fedora_messaging_schema_package`
 *   (when set), `fedora_messaging_severity`, `sent-at`, and
 *   `fedora_messaging_<kind>_<name>: true` per name `settings.filters`
 *   returns; the message's own headers alongside. A message header
 *   `fedora_messaging_severity` sets that message's severity;
 * - the body as UTF-8 JSON.
 *
 * @param sentAtHeader the `sent-at` header, `sentAt(new Date())` (one per batch: it has a resolution of seconds).
 * @returns the publish, or why the message cannot be sent as it is (a
 *   severity outside 10/20/30/40, a message header under the reserved
 *   `fedora_messaging` prefix or named `sent-at` or `priority`, a filter name
 *   that is not a non-empty string, a `filters` function that threw, or a
 *   routing key or header name over 255 bytes, AMQP's short-string limit).
 */
export function toFedoraMessagingPublish(
  message: Message,
  settings: WireSettings,
  sentAtHeader: string,
): FedoraMessagingPublish | { readonly invalid: string } {
  const headers: Record<string, string | number | boolean> = {};
  let severity: unknown = settings.severity;
  for (const [name, value] of Object.entries(message.headers)) {
    if (name === SEVERITY_HEADER) severity = value;
    else if (name.startsWith('fedora_messaging') || name === 'sent-at' || name === 'priority')
      return { invalid: `its header "${name}" is reserved by the fedora-messaging wire format` };
    else headers[name] = value;
  }
  if (!FEDORA_MESSAGING_SEVERITIES.includes(severity as FedoraMessagingSeverity))
    return { invalid: `its ${SEVERITY_HEADER} header ${JSON.stringify(severity)} is not one of 10, 20, 30, 40` };
  headers.fedora_messaging_schema = settings.schema;
  if (settings.schemaPackage !== undefined) headers.fedora_messaging_schema_package = settings.schemaPackage;
  headers.fedora_messaging_severity = severity as FedoraMessagingSeverity;
  headers['sent-at'] = sentAtHeader;
  if (settings.priority !== undefined) headers.priority = settings.priority;
  if (settings.filters) {
    let filters: FedoraMessagingFilters;
    try {
      filters = settings.filters(message);
    } catch (error) {
      return { invalid: `the filters function threw: ${error instanceof Error ? error.message : String(error)}` };
    }
    for (const kind of FEDORA_MESSAGING_FILTER_KINDS) {
      for (const name of filters[kind] ?? []) {
        if (typeof name !== 'string' || name === '')
          return { invalid: `the filters function returned ${JSON.stringify(name)} as a ${kind} name` };
        headers[`fedora_messaging_${kind}_${name}`] = true;
      }
    }
  }
  // AMQP short strings: amqplib throws on longer ones after queueing the confirm callback.
  const routingKey = fedoraMessagingRoutingKey(settings.topicPrefix, message.topic);
  if (Buffer.byteLength(routingKey) > 255) return { invalid: `its routing key ${routingKey} is over 255 bytes` };
  const long = Object.keys(headers).find((name) => Buffer.byteLength(name) > 255);
  if (long !== undefined) return { invalid: `its header name ${long} is over 255 bytes` };
  return {
    routingKey,
    content: Buffer.from(JSON.stringify(message.body), 'utf8'),
    properties: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      messageId: message.id,
      ...(settings.priority === undefined ? {} : { priority: settings.priority }),
      headers,
    },
  };
}
