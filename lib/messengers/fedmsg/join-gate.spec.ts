import { JoinGate } from './join-gate.js';

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
