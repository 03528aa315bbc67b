/** Internal tokens and keys; not exported from the package. */

/** Validated options with defaults applied. */
export const MESSAGING_OPTIONS = Symbol('nestjs-messaging:options');

/** Key of the current message batch in the nestjs-cls store. */
export const BATCH_KEY = Symbol('nestjs-messaging:batch');

/** Metadata key written by `@EmitsMessage()`. */
export const EMITS_MESSAGE_METADATA = 'nestjs-messaging:emits-message';

/** Logger context of the library's own log lines. */
export const LOGGER_CONTEXT = 'Messaging';
