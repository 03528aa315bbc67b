import { MemoryOutboxStore, MessagingModule, MessagingOptionsError, type OutboxCounts } from 'nestjs-messaging';
import { MessagingHealthIndicator, type MessagingHealthDetails } from 'nestjs-messaging/terminus';
import { HealthModule } from '../sample-app/health/health.module.js';
import { startApp, type RunningApp } from './support/http-app.js';

/** A store whose counts() never answers while `hanging` (a pool with no free connection, a lock held). */
class HangingCounts extends MemoryOutboxStore {
  hanging = true;
  override counts(): Promise<OutboxCounts> {
    return this.hanging ? new Promise<OutboxCounts>(() => undefined) : super.counts();
  }
}

let store: HangingCounts | undefined;
let running: RunningApp | undefined;
afterEach(async () => {
  // The shutdown drain counts what is left: let it.
  if (store !== undefined) store.hanging = false;
  await running?.close();
  running = undefined;
});

async function start(): Promise<RunningApp> {
  running = await startApp('express', {
    imports: [
      MessagingModule.forRoot({
        messenger: { send: () => Promise.resolve() },
        outbox: (store = new HangingCounts()),
      }),
      HealthModule,
    ],
  });
  return running;
}

describe('MessagingHealthIndicator with a store that does not answer', () => {
  it('answers down after storeTimeoutMs, naming the store, instead of holding the probe', async () => {
    const app = await start();
    const indicator = app.app.get(MessagingHealthIndicator);
    const result = await indicator.check('messaging', { storeTimeoutMs: 50 });
    const details = result.messaging as MessagingHealthDetails & { status: string };
    expect(details.status).toBe('down');
    expect(details.outbox).toEqual({ error: 'the store did not answer within storeTimeoutMs (50 ms)' });
  });

  it('GET /health answers 503 with the default storeTimeoutMs', async () => {
    const app = await start();
    const response = await app.request('GET', '/health');
    expect(response.status).toBe(503);
    expect(JSON.stringify(response.body)).toContain('storeTimeoutMs');
  });

  it('refuses a storeTimeoutMs that is not a positive number', async () => {
    const app = await start();
    const indicator = app.app.get(MessagingHealthIndicator);
    await expect(indicator.check('messaging', { storeTimeoutMs: 0 })).rejects.toThrow(MessagingOptionsError);
    await expect(indicator.check('messaging', { storeTimeoutMs: 0 })).rejects.toThrow(
      'thresholds.storeTimeoutMs: expected a number > 0, got 0',
    );
  });
});
