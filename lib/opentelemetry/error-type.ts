/**
 * The `error.type` of a failed send: the broker's AMQP condition when the error carries one
 * (such as `amqp:unauthorized-access`), else the error's class name (`MessengerSendError`,
 * `MessengerUnavailableError`, `Error`), or `_OTHER` for a thrown non-error.
 */
export function errorTypeOf(error: unknown): string {
  if (!(error instanceof Error)) return '_OTHER';
  const condition = (error as { condition?: unknown }).condition;
  if (typeof condition === 'string' && condition !== '') return condition;
  return error.constructor.name || error.name || 'Error';
}

/** The message of an error, for a span's status description. */
export function errorMessageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
