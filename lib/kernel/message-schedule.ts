import type { Message } from './message.interface.js';
import type { AppendOptions } from './outbox-delivery-store.interface.js';

// The first due time of delayed messages (`add(..., { delay })` or `{ availableAt }`), beside
// the immutable `Message` rather than in it: messengers never see it, the outbox stores it
// (`AppendOptions.availableAt`).
const availableAt = new WeakMap<Message, number>();

/** Records that `message` is first due at `at` (ms since the epoch). */
export function scheduleMessage(message: Message, at: number): void {
  availableAt.set(message, at);
}

/** When `message` is first due (ms since the epoch), or `undefined` when at once. */
export function scheduledAt(message: Message): number | undefined {
  return availableAt.get(message);
}

/** Options of messages that are due at once and that the caller announces itself: one shared object. */
const ANNOUNCED_LOCALLY: AppendOptions = Object.freeze({ announcedLocally: true });

/**
 * The `append()` options of `messages`: their first due times when any is delayed, and
 * `announcedLocally` when the caller tells this process's dispatcher about them itself
 * (`AppendOptions.announcedLocally`); `undefined` when neither.
 */
export function appendOptionsOf(messages: readonly Message[], announcedLocally = false): AppendOptions | undefined {
  let delayed: Map<string, number> | undefined;
  for (const message of messages) {
    const at = availableAt.get(message);
    if (at === undefined) continue;
    delayed ??= new Map();
    delayed.set(message.id, at);
  }
  if (delayed !== undefined)
    return announcedLocally ? { availableAt: delayed, announcedLocally } : { availableAt: delayed };
  return announcedLocally ? ANNOUNCED_LOCALLY : undefined;
}
