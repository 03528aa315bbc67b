import { JOIN_EARLY_SUBSCRIPTION_MS, JOIN_HOLD_SHARE, JoinGate } from './join-gate.js';

/** Whether `promise` has settled once pending callbacks ran (no timer is involved). */
async function settled(promise: Promise<void> | undefined): Promise<boolean> {
  if (promise === undefined) return true;
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('JoinGate', () => {
  it('is open when no peer is joining', () => {
    expect(new JoinGate(60_000).whenOpen()).toBeUndefined();
  });

  it('holds publishing while a peer joins, until its subscription arrives', async () => {
    const gate = new JoinGate(60_000);
    gate.expect(true);
    const open = gate.whenOpen();
    expect(await settled(open)).toBe(false);
    gate.subscribed();
    expect(await settled(open)).toBe(true);
  });

  it('stops holding when a joining peer disconnects: its subscription will not come', async () => {
    const gate = new JoinGate(60_000);
    gate.expect(true);
    gate.expect(true);
    const open = gate.whenOpen();
    gate.subscribed();
    expect(await settled(open)).toBe(false);
    gate.left();
    expect(await settled(open)).toBe(true);
  });

  it('holds for the whole timeout after start-up, whatever subscribes or leaves', async () => {
    const gate = new JoinGate(200);
    gate.expect(false);
    const open = gate.whenOpen();
    gate.subscribed();
    gate.left();
    expect(await settled(open)).toBe(false);
    await open; // at the timeout
    expect(gate.whenOpen()).toBeUndefined();
  });
});

describe('JoinGate bounds', () => {
  const timeoutMs = 500;
  let now = 1_000_000;
  const clock = (): number => now;

  it('after a join the peer left unanswered, new peers hold nothing for a quiet period that doubles', () => {
    const gate = new JoinGate(timeoutMs, clock);
    gate.expect(true);
    expect(gate.holding).toBe(true);
    now += 100;
    gate.left(); // no subscription: quiet for timeoutMs
    gate.expect(true);
    expect(gate.holding).toBe(false);
    now += timeoutMs;
    gate.expect(true);
    expect(gate.holding).toBe(true);
    now += timeoutMs; // ran out unanswered: quiet for 2 × timeoutMs
    expect(gate.holding).toBe(false);
    now += timeoutMs;
    gate.expect(true);
    expect(gate.holding).toBe(false);
    now += timeoutMs;
    gate.expect(true);
    expect(gate.holding).toBe(true);
  });

  it('a join answered by a subscription starts the doubling over', () => {
    const gate = new JoinGate(timeoutMs, clock);
    gate.expect(true);
    gate.left(); // quiet for timeoutMs
    now += timeoutMs;
    gate.expect(true);
    gate.left(); // quiet for 2 × timeoutMs
    now += 2 * timeoutMs;
    gate.expect(true);
    gate.subscribed(); // answered
    gate.expect(true);
    expect(gate.holding).toBe(true);
    gate.left(); // quiet for timeoutMs again, not 4 ×
    now += timeoutMs;
    gate.expect(true);
    expect(gate.holding).toBe(true);
  });

  it('joins answered just before the timeout, over and over, hold at most timeoutMs + JOIN_HOLD_SHARE of the time', () => {
    const gate = new JoinGate(timeoutMs, clock);
    const start = now;
    let held = 0;
    for (let cycle = 0; cycle < 100; cycle++) {
      gate.expect(true);
      for (let ms = 0; ms < 460; ms++, now++) {
        if (ms === 450) gate.subscribed();
        if (gate.holding) held++;
      }
    }
    const elapsed = now - start;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(timeoutMs + JOIN_HOLD_SHARE * elapsed);
  });

  it('overlapping joins are charged once: peers that join together all get the wait', () => {
    const gate = new JoinGate(timeoutMs, clock);
    gate.expect(true);
    gate.expect(true);
    gate.expect(true);
    now += timeoutMs - 1;
    gate.subscribed();
    gate.subscribed();
    expect(gate.holding).toBe(true);
    gate.subscribed();
    expect(gate.holding).toBe(false);
  });

  it('a subscription reported just before its handshake answers that join', () => {
    const gate = new JoinGate(timeoutMs, clock);
    gate.subscribed();
    now += JOIN_EARLY_SUBSCRIPTION_MS - 1;
    gate.expect(true);
    expect(gate.holding).toBe(false);
    gate.subscribed();
    now += JOIN_EARLY_SUBSCRIPTION_MS + 1;
    gate.expect(true);
    expect(gate.holding).toBe(true);
  });
});
