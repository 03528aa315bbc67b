import type * as Api from '@opentelemetry/api';
import { MessagingError } from '../kernel/messaging.errors.js';

/** The `@opentelemetry/api` module, as loaded at run time (internal: its types stay out of the entry points). */
export type OtelApi = typeof Api;

/**
 * Loads the optional `@opentelemetry/api` peer dependency, only when `MessagingTelemetryModule`
 * starts: an application without the module never loads it.
 *
 * @throws MessagingError naming the package when it is not installed.
 */
export async function loadOtelApi(): Promise<OtelApi> {
  try {
    const loaded = (await import('@opentelemetry/api')) as OtelApi & { default?: OtelApi };
    // The package's CommonJS build, when a bundler or loader picks it, puts its API on the default export.
    return typeof loaded.trace === 'object' ? loaded : (loaded.default ?? loaded);
  } catch (error) {
    throw new MessagingError(
      `MessagingTelemetryModule needs the "@opentelemetry/api" package (1.3 or later): npm install @opentelemetry/api. ` +
        `Loading it failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
