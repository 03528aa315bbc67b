// nestjs-messaging/opentelemetry: traces and metrics through @opentelemetry/api (optional peer, loaded at start-up).
export { MessagingTelemetryModule } from './messaging-telemetry.module.js';
export type { MessagingTelemetryOptions } from './telemetry-options.interface.js';
export { TelemetryMetricNames, TELEMETRY_SCOPE } from './telemetry.names.js';
export { TRACEPARENT_HEADER, TRACESTATE_HEADER } from './trace-context.js';
