import type { OnApplicationShutdown } from '@nestjs/common';
import type { RegisteredTelemetry } from './telemetry.setup.js';

/** Injection token of the sample's {@link SampleTelemetry}. */
export const SAMPLE_TELEMETRY = Symbol('sample-telemetry');

/** The SDK registered for this app; taken down when the app shuts down. */
export class SampleTelemetry implements OnApplicationShutdown {
  constructor(readonly registered: RegisteredTelemetry) {}

  onApplicationShutdown(): Promise<void> {
    return this.registered.shutdown();
  }
}
