import type { TracingChannelSubscribers } from 'node:diagnostics_channel';
import type { Attributes, Link, Span, Tracer } from '@opentelemetry/api';
import { deliveryChannels, type BatchSendEvent } from '../kernel/delivery-events.js';
import type { Message } from '../kernel/message.interface.js';
import type { OtelApi } from './load-otel-api.js';
import { errorMessageOf, errorTypeOf } from './error-type.js';
import { TELEMETRY_SCOPE } from './telemetry.names.js';
import { parseTraceparent, TRACEPARENT_HEADER, TRACESTATE_HEADER } from './trace-context.js';

type SendEvent = BatchSendEvent & { error?: unknown };

/**
 * A `send` span (kind CLIENT: the create spans are the messages' creation contexts) around each
 * `Messenger.send()` of a batch, from the `nestjs-messaging:batch.send` tracing channel. Named
 * `send <topic>`, or `send` when the batch mixes topics; a root span (delivery runs in the
 * background, not in the request that added the messages) with one link per message to the
 * creation context in its `traceparent` header, which the outbox stored, so the links hold after
 * a restart. Ends with status ERROR and `error.type` when `send()` rejects.
 */
export class SendSpanSubscriber {
  private readonly tracer: Tracer;
  private readonly spans = new WeakMap<BatchSendEvent, Span>();
  private readonly subscribers: TracingChannelSubscribers<BatchSendEvent>;

  constructor(
    private readonly api: OtelApi,
    private readonly systemOf: (messenger: string) => string,
  ) {
    this.tracer = api.trace.getTracer(TELEMETRY_SCOPE);
    this.subscribers = {
      start: (event) => {
        this.start(event);
      },
      // A send() that throws before returning a promise: the error is already set at `end`.
      end: (event: SendEvent) => {
        if ('error' in event) this.finish(event);
      },
      asyncStart: () => undefined,
      asyncEnd: (event) => {
        this.finish(event);
      },
      error: () => undefined,
    };
  }

  subscribe(): void {
    deliveryChannels.batchSend.subscribe(this.subscribers);
  }

  unsubscribe(): void {
    deliveryChannels.batchSend.unsubscribe(this.subscribers);
  }

  private start(event: BatchSendEvent): void {
    const { api } = this;
    const { messages } = event;
    const topic = singleTopic(messages);
    const attributes: Attributes = {
      'messaging.system': this.systemOf(event.messenger),
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
    };
    if (topic !== undefined) attributes['messaging.destination.name'] = topic;
    if (messages.length === 1) attributes['messaging.message.id'] = messages[0].id;
    else attributes['messaging.batch.message_count'] = messages.length;
    const span = this.tracer.startSpan(
      topic === undefined ? 'send' : `send ${topic}`,
      { kind: api.SpanKind.CLIENT, attributes, links: this.linksOf(messages) },
      api.ROOT_CONTEXT,
    );
    this.spans.set(event, span);
  }

  private finish(event: SendEvent): void {
    const span = this.spans.get(event);
    if (span === undefined) return;
    this.spans.delete(event);
    if ('error' in event) {
      span.setAttribute('error.type', errorTypeOf(event.error));
      span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: errorMessageOf(event.error) });
    }
    span.end();
  }

  private linksOf(messages: readonly Message[]): Link[] {
    const links: Link[] = [];
    for (const message of messages) {
      const parsed = parseTraceparent(message.headers[TRACEPARENT_HEADER]);
      if (parsed === undefined) continue;
      const state = message.headers[TRACESTATE_HEADER];
      links.push({
        context: {
          traceId: parsed.traceId,
          spanId: parsed.spanId,
          traceFlags: parsed.traceFlags,
          isRemote: true,
          traceState: typeof state === 'string' && state !== '' ? this.api.createTraceState(state) : undefined,
        },
        attributes: { 'messaging.message.id': message.id },
      });
    }
    return links;
  }
}

/** The topic every message of the batch has, or `undefined` when they differ. */
export function singleTopic(messages: readonly Message[]): string | undefined {
  const topic = messages[0]?.topic;
  for (const message of messages) if (message.topic !== topic) return undefined;
  return topic;
}
