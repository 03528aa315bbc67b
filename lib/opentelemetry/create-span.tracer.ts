import type { Tracer } from '@opentelemetry/api';
import { withHeaders } from '../kernel/message.factory.js';
import type { Message } from '../kernel/message.interface.js';
import type { MessageTracer } from '../request/message-tracer.interface.js';
import type { OtelApi } from './load-otel-api.js';
import { TELEMETRY_SCOPE } from './telemetry.names.js';
import { formatTraceparent, TRACEPARENT_HEADER, TRACESTATE_HEADER } from './trace-context.js';

/**
 * Starts and ends a `create <topic>` span (kind PRODUCER) for each message added, as a child of
 * the caller's active context (the request's server span), and writes the span's W3C context into
 * the message's `traceparent` (and `tracestate`) headers, which are stored with the message.
 * A message whose headers already carry a `traceparent` keeps it and gets no create span (the
 * conventions' "custom creation context"). Without a registered SDK, the span context is invalid
 * and the message is queued unchanged.
 */
export class CreateSpanTracer implements MessageTracer {
  private readonly tracer: Tracer;

  constructor(
    private readonly api: OtelApi,
    private readonly system: string,
  ) {
    this.tracer = api.trace.getTracer(TELEMETRY_SCOPE);
  }

  created(message: Message): Message {
    if (TRACEPARENT_HEADER in message.headers) return message;
    const { api } = this;
    const span = this.tracer.startSpan(
      `create ${message.topic}`,
      {
        kind: api.SpanKind.PRODUCER,
        attributes: {
          'messaging.system': this.system,
          'messaging.operation.name': 'create',
          'messaging.operation.type': 'create',
          'messaging.destination.name': message.topic,
          'messaging.message.id': message.id,
        },
      },
      api.context.active(),
    );
    const spanContext = span.spanContext();
    span.end();
    if (!api.isSpanContextValid(spanContext)) return message;
    const headers: Record<string, string> = {
      [TRACEPARENT_HEADER]: formatTraceparent(spanContext.traceId, spanContext.spanId, spanContext.traceFlags),
    };
    const state = spanContext.traceState?.serialize();
    if (state !== undefined && state !== '') headers[TRACESTATE_HEADER] = state;
    return withHeaders(message, headers);
  }
}
