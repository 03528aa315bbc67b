/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/, level 1) as carried in message headers:
 * `traceparent` is `00-<trace id, 32 hex>-<parent id, 16 hex>-<flags, 2 hex>`; `tracestate` is
 * passed on as it is.
 */
export const TRACEPARENT_HEADER = 'traceparent';
/** The W3C `tracestate` header (vendor entries, passed on unchanged). */
export const TRACESTATE_HEADER = 'tracestate';

/** A span context read from a `traceparent` (internal). */
export interface ParsedTraceparent {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** `00-<traceId>-<spanId>-<flags>`. */
export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * Reads a `traceparent` header value; `undefined` when it is missing or invalid (version `ff`,
 * all-zero ids, a version 00 value with extra fields, upper-case hex), as the W3C parser rules say.
 */
export function parseTraceparent(value: unknown): ParsedTraceparent | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags] = match;
  const rest = match.at(5);
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) };
}
