import type { Messenger } from '../kernel/messenger.interface.js';
import { checkDispatchOptions } from '../delivery/dispatch-options.validation.js';
import type { OutboxStore } from '../kernel/outbox-store.interface.js';
import type { MessagingModuleOptions } from './messaging-options.interface.js';
import { MessagingOptionsError } from '../kernel/messaging.errors.js';

const KNOWN_OPTIONS = new Set<string>([
  'messenger',
  'delivery',
  'outbox',
  'dispatch',
  'shutdownTimeoutMs',
  'maxMessagesPerRequest',
  'enrich',
  'commentHeader',
  'authorOf',
  'isGlobal',
]);
// RFC 9110 token characters: what a header name may contain.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Checks every option and throws one `MessagingOptionsError` listing all
 * problems, so a start-up failure shows everything to fix at once.
 */
export function validateMessagingOptions(options: unknown): MessagingModuleOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new MessagingOptionsError([`options: expected an object, got ${describe(options)}`]);
  }
  const record = options as Record<string, unknown>;
  const issues: string[] = [];
  for (const key of Object.keys(record)) {
    if (!KNOWN_OPTIONS.has(key)) {
      issues.push(`${key}: unknown option (known: ${[...KNOWN_OPTIONS].join(', ')})`);
    }
  }
  checkMessenger(record.messenger, issues);
  checkOutbox(record.outbox, issues);
  checkDispatchOptions(record.dispatch, issues);
  const { delivery, shutdownTimeoutMs, maxMessagesPerRequest, enrich, commentHeader, authorOf } = record;
  if (delivery !== undefined && delivery !== 'background' && delivery !== 'await') {
    issues.push(`delivery: expected "background" or "await", got ${describe(delivery)}`);
  }
  if (
    shutdownTimeoutMs !== undefined &&
    (typeof shutdownTimeoutMs !== 'number' || !Number.isInteger(shutdownTimeoutMs) || shutdownTimeoutMs < 0)
  ) {
    issues.push(`shutdownTimeoutMs: expected a whole number of milliseconds >= 0, got ${describe(shutdownTimeoutMs)}`);
  }
  if (
    maxMessagesPerRequest !== undefined &&
    (typeof maxMessagesPerRequest !== 'number' || !Number.isInteger(maxMessagesPerRequest) || maxMessagesPerRequest < 1)
  ) {
    issues.push(`maxMessagesPerRequest: expected a whole number >= 1, got ${describe(maxMessagesPerRequest)}`);
  }
  if (enrich !== undefined && enrich !== false && typeof enrich !== 'function') {
    issues.push(`enrich: expected a function (context) => fields, or false, got ${describe(enrich)}`);
  }
  if (commentHeader !== undefined) {
    if (typeof commentHeader !== 'string' || !HEADER_NAME.test(commentHeader)) {
      issues.push(`commentHeader: expected an HTTP header name, got ${describe(commentHeader)}`);
    } else if (enrich !== undefined) {
      issues.push('commentHeader: only used by the default enricher; remove it or remove enrich');
    }
  }
  if (authorOf !== undefined) {
    if (typeof authorOf !== 'function') {
      issues.push(`authorOf: expected a function (request) => string, got ${describe(authorOf)}`);
    } else if (enrich !== undefined) {
      issues.push('authorOf: only used by the default enricher; remove it or remove enrich');
    }
  }
  if (issues.length > 0) throw new MessagingOptionsError(issues);
  return record;
}

function checkMessenger(messenger: unknown, issues: string[]): void {
  if (!checkPluggable('messenger', 'a Messenger', messenger, issues)) return;
  if (typeof (messenger as Partial<Messenger>).send !== 'function') {
    issues.push(
      'messenger: the object has no send(messages) method; pass a Messenger class, instance or { useFactory, inject }',
    );
  }
}

/**
 * Checks a class / instance / `{ useFactory, inject }` option; returns true
 * when it is an instance, whose methods the caller checks.
 */
function checkPluggable(path: string, what: string, value: unknown, issues: string[]): value is object {
  if (value === undefined || typeof value === 'function') return false;
  if (value === null || typeof value !== 'object') {
    issues.push(`${path}: expected ${what} class, instance or { useFactory, inject }, got ${describe(value)}`);
    return false;
  }
  if ('useFactory' in value) {
    const { useFactory, inject } = value as { useFactory: unknown; inject?: unknown };
    if (typeof useFactory !== 'function')
      issues.push(`${path}.useFactory: expected a function, got ${describe(useFactory)}`);
    if (inject !== undefined && !Array.isArray(inject))
      issues.push(`${path}.inject: expected an array of tokens, got ${describe(inject)}`);
    return false;
  }
  return true;
}

function checkOutbox(outbox: unknown, issues: string[]): void {
  if (!checkPluggable('outbox', 'an OutboxStore', outbox, issues)) return;
  const missing = [
    'append',
    'claim',
    'markDelivered',
    'reschedule',
    'nextDueAt',
    'list',
    'counts',
    'retry',
    'purge',
  ].filter((method) => typeof (outbox as Record<string, unknown>)[method] !== 'function');
  if (missing.length > 0) {
    issues.push(
      `outbox: the object is not an OutboxStore (missing ${missing.join(', ')}); pass a store such as new SqliteOutboxStore({ path })`,
    );
  }
  if (typeof (outbox as Partial<OutboxStore>).durable !== 'boolean' && missing.length === 0)
    issues.push('outbox.durable: expected a boolean');
}

function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${value}`;
    case 'object':
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
    default:
      return `a ${typeof value}`;
  }
}
