/** HTTP status of an operation whose messages the outbox could not take: the response is no success. */
export const UNSENT_MESSAGES_STATUS = 500;

/** A formatted GraphQL error, as a response's `errors` carries it (internal). */
export interface GraphQLErrorEntry {
  readonly message: string;
  readonly extensions: { readonly code: string; readonly messagingError: string };
}

/**
 * The error added to the `errors` of an operation whose messages the outbox could not take
 * (`OutboxWriteError` from a durable store, `OutboxClosedError` after the shutdown drain). Its
 * `data` stays as the resolvers produced it: their changes happened, but nobody will be told.
 * The details (store error, message ids) are in the server log, not in the response.
 */
export function unsentMessagesError(error: unknown): GraphQLErrorEntry {
  const name = error instanceof Error ? error.name : 'Error';
  return {
    message:
      `The operation ran, but its messages could not be stored in the outbox (${name}) and will not be sent. ` +
      'See the server log; check the outbox store before retrying.',
    extensions: { code: 'INTERNAL_SERVER_ERROR', messagingError: name },
  };
}
