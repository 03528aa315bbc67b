import { MessagingOptionsError } from '../kernel/messaging.errors.js';
import type { MessagingTelemetryOptions, TelemetryConfig } from './telemetry-options.interface.js';

const SUBJECT = 'MessagingTelemetryModule options';

/**
 * Checks the options of `MessagingTelemetryModule.forRoot()` and applies the defaults.
 *
 * @throws MessagingOptionsError listing each invalid option (`path: message`).
 */
export function resolveTelemetryOptions(options: unknown): TelemetryConfig {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new MessagingOptionsError(['(options): expected an object'], SUBJECT);
  }
  const given = options as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(given)) {
    if (!['tracing', 'metrics', 'messagingSystem'].includes(key)) problems.push(`${key}: unknown option`);
  }
  for (const key of ['tracing', 'metrics'] as const) {
    if (given[key] !== undefined && typeof given[key] !== 'boolean') {
      problems.push(`${key}: expected true or false, got ${JSON.stringify(given[key])}`);
    }
  }
  const system = given.messagingSystem;
  if (system !== undefined && (typeof system !== 'string' || system.trim() === '')) {
    problems.push(`messagingSystem: expected a non-empty string, got ${JSON.stringify(system)}`);
  }
  if (problems.length > 0) throw new MessagingOptionsError(problems, SUBJECT);
  const valid = given as MessagingTelemetryOptions;
  return {
    tracing: valid.tracing ?? true,
    metrics: valid.metrics ?? true,
    messagingSystem: valid.messagingSystem,
  };
}
