import { MessagingOptionsError } from '../kernel/messaging.errors.js';
import { messagingSystemOf } from './messaging-system.js';
import { resolveTelemetryOptions } from './telemetry-options.validation.js';
import { formatTraceparent, parseTraceparent } from './trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('W3C traceparent', () => {
  it('formats version 00 with two-digit flags and reads it back', () => {
    expect(formatTraceparent(TRACE, SPAN, 1)).toBe(`00-${TRACE}-${SPAN}-01`);
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({ traceId: TRACE, spanId: SPAN, traceFlags: 1 });
    expect(parseTraceparent(formatTraceparent(TRACE, SPAN, 0))?.traceFlags).toBe(0);
  });

  it.each([
    ['missing', undefined],
    ['not a string', 42],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['version 00 with more fields', `00-${TRACE}-${SPAN}-01-extra`],
    ['short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
  ])('ignores an invalid value (%s)', (_, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('accepts a later version with more fields, reading the first four', () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-03-future`)).toEqual({ traceId: TRACE, spanId: SPAN, traceFlags: 3 });
  });
});

describe('messaging.system of a messenger class', () => {
  it.each([
    ['AmqpMessenger', 'amqp'],
    ['FedmsgMessenger', 'fedmsg'],
    ['FedoraMessagingMessenger', 'rabbitmq'],
    ['LoggingMessenger', 'logging'],
    ['Messenger', 'unknown'],
  ])('%s → %s', (name, system) => {
    expect(messagingSystemOf(name)).toBe(system);
  });
});

describe('MessagingTelemetryModule options', () => {
  it('default to tracing and metrics on', () => {
    expect(resolveTelemetryOptions({})).toEqual({ tracing: true, metrics: true, messagingSystem: undefined });
  });

  it('name every invalid option', () => {
    try {
      resolveTelemetryOptions({ tracing: 'yes', metrics: 1, messagingSystem: ' ', sampling: true });
      throw new Error('expected a MessagingOptionsError');
    } catch (error) {
      expect(error).toBeInstanceOf(MessagingOptionsError);
      expect((error as MessagingOptionsError).issues).toEqual([
        'sampling: unknown option',
        'tracing: expected true or false, got "yes"',
        'metrics: expected true or false, got 1',
        'messagingSystem: expected a non-empty string, got " "',
      ]);
      expect((error as Error).message).toContain('Invalid MessagingTelemetryModule options');
    }
  });
});
