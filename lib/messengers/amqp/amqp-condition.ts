import type { Message } from '../../kernel/message.interface.js';

/**
 * What an AMQP error condition from a broker means for the messenger:
 * `configuration` (authentication, permission, unknown address or virtual
 * host: retrying soon will not help, an operator must act), `transient`
 * (the broker closed something it may open again: reconnect or re-attach),
 * or `other` (anything else: about the message or unknown).
 */
export type AmqpConditionKind = 'configuration' | 'transient' | 'other';

const CONFIGURATION = new Set([
  'amqp:unauthorized-access',
  'amqp:not-found',
  'amqp:not-allowed',
  'amqp:not-implemented',
  // RabbitMQ refuses an attach to an address it cannot parse with it.
  'amqp:invalid-field',
]);

const TRANSIENT = new Set([
  'amqp:connection:forced',
  'amqp:connection:framing-error',
  'amqp:resource-limit-exceeded',
  'amqp:internal-error',
  'amqp:link:detach-forced',
  'amqp:link:stolen',
  'amqp:session:window-violation',
]);

/** Classifies a connection close, or a refusal of the connection. Without a condition: `transient`. */
export function connectionConditionKind(condition: string | undefined): Exclude<AmqpConditionKind, 'other'> {
  return condition !== undefined && CONFIGURATION.has(condition) ? 'configuration' : 'transient';
}

/**
 * Classifies the end of a link or session. Without a condition (a plain
 * detach or end) it is `transient`: the link is attached again.
 * `amqp:internal-error` ends a link over a message as often as not: `other`.
 */
export function linkConditionKind(condition: string | undefined): AmqpConditionKind {
  if (condition === undefined) return 'transient';
  if (CONFIGURATION.has(condition)) return 'configuration';
  return TRANSIENT.has(condition) && condition !== 'amqp:internal-error' ? 'transient' : 'other';
}

/**
 * Conditions with which a broker refuses one message for good (a `rejected`
 * outcome, or ending the link over that message): sending it again cannot
 * succeed. RabbitMQ 3.10 ends the link with `amqp:precondition-failed` over
 * a message above its `max_message_size` (and over invalid properties, such
 * as a malformed expiration). Everything else (`amqp:resource-limit-exceeded`
 * for a full queue or a broker alarm, `amqp:internal-error`, no condition,
 * an unknown one) is retried.
 */
const PERMANENT_FOR_MESSAGE = new Set([
  'amqp:decode-error',
  'amqp:invalid-field',
  'amqp:not-allowed',
  'amqp:not-implemented',
  'amqp:not-found',
  'amqp:unauthorized-access',
  'amqp:precondition-failed',
  'amqp:link:message-size-exceeded',
]);

/** Whether a broker refusing one message with `condition` refuses it for good (see above). */
export function isPermanentMessageCondition(condition: string | undefined): boolean {
  return condition !== undefined && PERMANENT_FOR_MESSAGE.has(condition);
}

const SASL_CODES: Record<string, string> = {
  '1': 'authentication failed (SASL code 1): check username and password',
  '2': 'the broker could not authenticate because of a system error (SASL code 2)',
  '3': 'the broker could not authenticate because of a permanent system error (SASL code 3)',
  '4': 'the broker could not authenticate because of a temporary system error (SASL code 4)',
};

const EXTERNAL_AUTH =
  "authentication failed (SASL code 1): the broker did not accept the client certificate's user for SASL EXTERNAL; check that the broker knows that user (RabbitMQ: the certificate's distinguished name, or its CN with ssl_cert_login_from = common_name)";

/**
 * rhea words a SASL outcome as "Failed to authenticate: <code>"; this says what it means, for
 * the mechanism used (`sasl` `'external'`: the client certificate; else username and password).
 */
export function describeBrokerError(
  description: string | undefined,
  condition: string | undefined,
  sasl: 'auto' | 'external' = 'auto',
): string {
  const code = /^Failed to authenticate: (\d)$/.exec(description ?? '')?.[1];
  if (code === '1' && sasl === 'external') return EXTERNAL_AUTH;
  if (code !== undefined) return SASL_CODES[code] ?? `authentication failed (SASL code ${code})`;
  if (description) return description;
  return condition === undefined ? 'no reason given' : 'no description given';
}

/**
 * The message a broker ended the link over for its size, among those still unsettled (oldest
 * first): the first whose JSON body alone is over the limit the broker names
 * ("message size 10028 is larger than configured max size 4096", RabbitMQ). RabbitMQ settles the
 * messages before it asynchronously, so the oldest unsettled one is not always the culprit.
 * @returns its index, or 0 (the oldest) when the description names no size or no body is over it.
 */
export function sizeCulpritIndex(description: string, messages: readonly Message[]): number {
  const limit = /larger than (?:the )?configured max size (\d+)/.exec(description)?.[1];
  if (limit === undefined) return 0;
  const index = messages.findIndex((message) => Buffer.byteLength(JSON.stringify(message.body)) > Number(limit));
  return index === -1 ? 0 : index;
}
