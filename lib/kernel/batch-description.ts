import type { Message } from './message.interface.js';

/**
 * One-line summary of a batch for logs: count, topics with counts, and ids,
 * so a failure can be traced to the messages it concerned.
 */
export function describeBatch(messages: readonly Message[]): string {
  const perTopic = new Map<string, number>();
  for (const { topic } of messages) perTopic.set(topic, (perTopic.get(topic) ?? 0) + 1);
  const topics = [...perTopic].map(([topic, count]) => `${topic} x${count}`).join(', ');
  const ids = messages.map(({ id }) => id).join(', ');
  return `${messages.length} message(s) [topics: ${topics}] [ids: ${ids}]`;
}
