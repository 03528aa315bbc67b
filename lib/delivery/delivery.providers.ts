import type { Provider } from '@nestjs/common';
import { AttemptWaiters } from './attempt.waiters.js';
import { BusPause } from './bus.pause.js';
import { DeliveryLog } from './delivery.log.js';
import { DeliveryWorker } from './delivery.worker.js';
import { OutboxAdmin } from './outbox-admin.service.js';
import { OutboxCounters } from './outbox.counters.js';
import { Outbox } from './outbox.service.js';

/**
 * Delivery's providers, for `MessagingModule` to register: `Outbox` (the seam
 * the request side uses), `OutboxAdmin`, and the delivery worker with the
 * state it shares with `Outbox`. They need `OutboxStore`, `Messenger` and
 * the resolved options (`MESSAGING_OPTIONS`, a `DeliveryConfig`).
 */
export const DELIVERY_PROVIDERS: readonly Provider[] = [
  OutboxCounters,
  AttemptWaiters,
  DeliveryLog,
  BusPause,
  DeliveryWorker,
  Outbox,
  OutboxAdmin,
];
