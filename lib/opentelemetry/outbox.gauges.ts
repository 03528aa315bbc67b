import { Logger } from '@nestjs/common';
import type { BatchObservableCallback, Meter, ObservableGauge } from '@opentelemetry/api';
import type { OutboxAdmin } from '../delivery/outbox-admin.service.js';
import type { OutboxStatus } from '../kernel/outbox-entry.interface.js';
import { TelemetryMetricNames } from './telemetry.names.js';

const STATUSES: readonly OutboxStatus[] = ['pending', 'delivered', 'dead'];

/**
 * Observable gauges of the outbox, read from the store when the SDK collects (each export or
 * scrape), never per event: `nestjs_messaging.outbox.messages` per status (from
 * `OutboxAdmin.stats()`) and `nestjs_messaging.outbox.oldest_pending.age` (the first pending
 * message, oldest first). A store that cannot be read reports nothing for that collection and
 * its error is logged (once until it can be read again).
 */
export class OutboxGauges {
  private readonly logger = new Logger('MessagingTelemetry');
  private readonly messages: ObservableGauge;
  private readonly oldestAge: ObservableGauge;
  private readonly callback: BatchObservableCallback;
  private failing = false;

  constructor(
    private readonly meter: Meter,
    private readonly admin: OutboxAdmin,
    system: string,
  ) {
    this.messages = meter.createObservableGauge(TelemetryMetricNames.outboxMessages, {
      unit: '{message}',
      description: 'Messages in the outbox, per status',
    });
    this.oldestAge = meter.createObservableGauge(TelemetryMetricNames.oldestPendingAge, {
      unit: 's',
      description: 'Age of the oldest pending message in the outbox (0 when none)',
    });
    this.callback = async (result) => {
      try {
        const [{ stored }, pending] = await Promise.all([
          this.admin.stats(),
          this.admin.list({ status: 'pending' }, 1),
        ]);
        for (const status of STATUSES) {
          result.observe(this.messages, stored[status], {
            'messaging.system': system,
            'nestjs_messaging.outbox.status': status,
          });
        }
        const oldest = pending.at(0);
        const age = oldest === undefined ? 0 : Math.max(0, Date.now() - oldest.createdAt) / 1000;
        result.observe(this.oldestAge, age, { 'messaging.system': system });
        this.failing = false;
      } catch (error) {
        if (!this.failing) {
          this.logger.warn(
            `Could not read the outbox for its gauges: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        this.failing = true;
      }
    };
  }

  start(): void {
    this.meter.addBatchObservableCallback(this.callback, [this.messages, this.oldestAge]);
  }

  stop(): void {
    this.meter.removeBatchObservableCallback(this.callback, [this.messages, this.oldestAge]);
  }
}
