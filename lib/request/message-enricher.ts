import type { ExecutionContext } from '@nestjs/common';
import { snapshotBody } from '../kernel/json-snapshot.js';
import type { JsonObject } from '../kernel/message.interface.js';
import { MessageSerializationError, MessagingError } from '../kernel/messaging.errors.js';
import type { EnrichmentSettings, MessageEnricher } from './request-options.interface.js';
import { requestOf } from './context-request.js';

/** Header PDC reads the change comment from. */
export const DEFAULT_COMMENT_HEADER = 'PDC-Change-Comment';

interface RequestLike {
  readonly user?: unknown;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
}

/** `request.user.username`, or `''` when nobody is authenticated (as PDC does). */
export function defaultAuthorOf(request: unknown): string {
  const user = (request as RequestLike | undefined)?.user;
  if (user !== null && typeof user === 'object' && 'username' in user) {
    const { username } = user;
    if (typeof username === 'string') return username;
  }
  return '';
}

/**
 * Chooses the enricher from the options: the user's (its result checked like
 * a body, once per request), PDC's default, or none.
 */
export function resolveEnricher(options: EnrichmentSettings): MessageEnricher | null {
  if (options.enrich === false) return null;
  const custom = options.enrich;
  if (custom) return (context) => checkedFields(custom(context));
  const header = (options.commentHeader ?? DEFAULT_COMMENT_HEADER).toLowerCase();
  const authorOf = options.authorOf ?? defaultAuthorOf;
  return (context: ExecutionContext): JsonObject => {
    // HTTP requests (direct, or behind a GraphQL operation) and WebSocket handshakes have users and headers in this form; other transports get neither field.
    const request = requestOf(context) as RequestLike | undefined;
    if (request === undefined) return {};
    const comment = request.headers?.[header];
    return {
      author: authorOf(request),
      comment: Array.isArray(comment) ? comment.join(', ') : (comment ?? null),
    };
  };
}

function checkedFields(fields: unknown): Readonly<JsonObject> {
  try {
    return snapshotBody('(enrich)', fields);
  } catch (error) {
    if (!(error instanceof MessageSerializationError)) throw error;
    throw new MessagingError(
      `The enrich option returned fields JSON cannot represent: ${error.path.replace(/^body/, 'fields')} ${error.reason}. ` +
        'Return a plain object of JSON values.',
    );
  }
}
