import type { JsonObject, Message, MessageHeaders } from '../kernel/message.interface.js';

/** Rebuilds a stored message, as immutable as the one that was accepted. */
export function restoreMessage(
  id: string,
  topic: string,
  bodyJson: string,
  headersJson: string,
  timestamp: number,
): Message {
  return Object.freeze({
    id,
    topic,
    body: deepFreeze(JSON.parse(bodyJson) as JsonObject),
    headers: Object.freeze(JSON.parse(headersJson) as MessageHeaders),
    timestamp,
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
