import { MessagingOptionsError } from '../kernel/messaging.errors.js';
import type { GraphQLMessagingConfig, GraphQLPartialFailure } from './graphql-options.interface.js';

const PARTIAL_FAILURE: readonly GraphQLPartialFailure[] = ['send-succeeded', 'send-nothing'];

/**
 * Checks the options of `MessagingGraphQLModule.forRoot()` and applies the defaults.
 * @throws MessagingOptionsError naming each invalid option.
 */
export function resolveGraphQLOptions(raw: unknown): GraphQLMessagingConfig {
  const options = (raw ?? {}) as Record<string, unknown>;
  const issues: string[] = [];
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new MessagingOptionsError(['(options): expected an object'], 'MessagingGraphQLModule options');
  }
  const known = new Set(['onPartialFailure']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) issues.push(`${key}: unknown option; the options are ${[...known].join(', ')}`);
  }
  const { onPartialFailure = 'send-succeeded' } = options;
  if (!PARTIAL_FAILURE.includes(onPartialFailure as GraphQLPartialFailure)) {
    issues.push(
      `onPartialFailure: expected ${PARTIAL_FAILURE.map((value) => `'${value}'`).join(' or ')}, got ${JSON.stringify(onPartialFailure)}`,
    );
  }
  if (issues.length > 0) throw new MessagingOptionsError(issues, 'MessagingGraphQLModule options');
  return { onPartialFailure: onPartialFailure as GraphQLPartialFailure };
}
