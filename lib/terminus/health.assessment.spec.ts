import type { MessengerState } from '../kernel/messenger-state.js';
import { assessHealth, type HealthReadings } from './health.assessment.js';
import { DEFAULT_HEALTH_THRESHOLDS, resolveHealthThresholds } from './health.thresholds.js';

const NOW = Date.UTC(2026, 10, 30, 12);
const since = new Date(NOW - 1000);
const readings = (messenger: MessengerState | undefined, extra: Partial<HealthReadings> = {}): HealthReadings => ({
  now: NOW,
  messenger,
  outbox: { pending: 0, dead: 0, oldestPendingAt: undefined },
  pausedUntil: undefined,
  ...extra,
});

describe('assessHealth', () => {
  it('counts starting and connected as up, reconnecting, refused and stopped as down (the defaults)', () => {
    const up = (status: MessengerState['status']) =>
      assessHealth(readings({ status, since }), DEFAULT_HEALTH_THRESHOLDS).up;
    expect(['starting', 'connected', 'reconnecting', 'refused', 'stopped'].map((s) => up(s as never))).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it("names the broker's condition and reason, and shows the state with ISO times", () => {
    const state: MessengerState = {
      status: 'refused',
      reason: 'authentication failed (SASL code 1)',
      condition: 'amqp:unauthorized-access',
      url: 'amqp://broker:5672',
      since,
    };
    const { up, details } = assessHealth(readings(state), DEFAULT_HEALTH_THRESHOLDS);
    expect(up).toBe(false);
    expect(details.problems).toEqual([
      'messenger refused (amqp:unauthorized-access): authentication failed (SASL code 1)',
    ]);
    expect(details.messenger).toEqual({ ...state, since: since.toISOString() });
  });

  it('takes other statuses as down when told, and keeps defaults for fields given as undefined', () => {
    const strict = resolveHealthThresholds({ downStatuses: ['starting', 'reconnecting'], maxPending: undefined });
    expect(strict.maxPending).toBe(10_000);
    expect(assessHealth(readings({ status: 'starting', since }), strict).up).toBe(false);
    expect(assessHealth(readings({ status: 'refused', since }), strict).up).toBe(true);
  });

  it('ages the oldest pending message from now; a pause already over is not a pause', () => {
    const outbox = { pending: 1, dead: 0, oldestPendingAt: NOW - 300_001 };
    const { details } = assessHealth(readings(undefined, { outbox, pausedUntil: NOW }), DEFAULT_HEALTH_THRESHOLDS);
    expect(details.outbox).toEqual({ pending: 1, oldestPendingAgeMs: 300_001, dead: 0 });
    expect(details.delivery).toEqual({ paused: false });
    expect(details.problems).toEqual([
      'the oldest pending message is 300001 ms old, more than maxOldestPendingMs (300000)',
    ]);
  });
});
