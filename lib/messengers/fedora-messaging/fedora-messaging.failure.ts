import type { Message } from '../../kernel/message.interface.js';
import type { FedoraMessagingFailure, FedoraMessagingOutcome } from './fedora-messaging.errors.js';

/**
 * The report of one message the broker did not confirm, classified: not
 * retryable (`retryable: false`: delivery declares it dead at once, reason
 * `rejected`, with `reason` as its last error) when sending it again cannot
 * succeed until an operator acts:
 *
 * - `invalid`: it cannot be put in the wire format (a reserved header, a
 *   severity outside 10/20/30/40, a `filters` function that threw or returned
 *   a bad name, a routing key or header name over 255 bytes);
 * - `returned`: unroutable with `mandatory` (`312 NO_ROUTE`: no queue bound for its routing key);
 * - `channel-closed` with `403` ACCESS_REFUSED naming its own routing key
 *   (topic permissions), or naming no topic (no write permission on the
 *   exchange, an internal exchange): every message of the channel is refused alike;
 * - `channel-closed` with `404` NOT_FOUND (the exchange does not exist: the only
 *   404 a publish can cause), for every message of the channel;
 * - `channel-closed` with `406` PRECONDITION_FAILED over `max_message_size`
 *   (RabbitMQ: `message size 5000 is larger than configured max size 4096`)
 *   when its body has that many bytes: then it also counts, being the
 *   message the broker refused (its size names it, as the routing key names
 *   the one refused by topic permissions); the others were caught up in it.
 *
 * A `nack`, a `timeout`, a lost connection, a `403` naming another message's
 * topic, or any other closure stay retryable. `counted` is otherwise as the
 * messenger says (see `FedoraMessagingSendError`).
 */
export function fedoraMessagingFailure(
  message: Message,
  routingKey: string,
  outcome: FedoraMessagingOutcome,
  reply: string,
  counted: boolean,
): FedoraMessagingFailure {
  const failure: FedoraMessagingFailure = {
    messageId: message.id,
    topic: message.topic,
    routingKey,
    outcome,
    reply,
    reason: `${outcome} (routing key ${routingKey}): ${reply}`,
    counted,
  };
  if (outcome === 'channel-closed' && isOversize(reply, message))
    return { ...failure, counted: true, retryable: false };
  return isFinal(outcome, reply, routingKey) ? { ...failure, retryable: false } : failure;
}

/** Whether the broker closed the channel over this message's size (the body, as the wire format encodes it). */
function isOversize(reply: string, message: Message): boolean {
  const size = /^406\b.*message size (\d+) is larger than configured max size/.exec(reply);
  return size !== null && Number(size[1]) === Buffer.byteLength(JSON.stringify(message.body), 'utf8');
}

function isFinal(outcome: FedoraMessagingOutcome, reply: string, routingKey: string): boolean {
  if (outcome === 'invalid' || outcome === 'returned') return true;
  if (outcome !== 'channel-closed') return false;
  if (/^404\b/.test(reply)) return true;
  if (!/^403\b/.test(reply)) return false;
  // RabbitMQ: "ACCESS_REFUSED - access to topic '<routing key>' in exchange '<exchange>' in vhost ...".
  const topic = /access to topic '([^']*)'/.exec(reply);
  return topic === null || topic[1] === routingKey;
}
