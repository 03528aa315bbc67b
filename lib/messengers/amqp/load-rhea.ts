import type * as Rhea from 'rhea';
import { MessagingError } from '../../kernel/messaging.errors.js';

/** Loads the optional `rhea` peer dependency, only when an AmqpMessenger starts. */
export async function loadRhea(): Promise<typeof Rhea> {
  try {
    const loaded = (await import('rhea')) as typeof Rhea & { default?: typeof Rhea };
    // rhea is CommonJS: under ESM its API is the default export.
    return loaded.default ?? loaded;
  } catch (error) {
    throw new MessagingError(
      `AmqpMessenger needs the "rhea" package (version 3): npm install rhea@3. Loading it failed: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
}
