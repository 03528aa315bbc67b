import { outboxRowToEntry, restoreMessage, toOutboxEntry, type OutboxRow } from './outbox-entry.mapper.js';

const row: OutboxRow = {
  id: 'm1',
  topic: '.a',
  ordering_key: 'order-7',
  body: '{"n":1,"nested":{"list":[1,{"x":2}]}}',
  headers: '{"priority":4}',
  timestamp: 5,
  created_at: 1000,
  status: 'pending',
  attempts: 2,
  next_attempt_at: 3000,
  last_error: 'rejected',
  dead_reason: null,
  attempt_history:
    '[{"at":1500,"error":"refused","messenger":"AmqpMessenger","counted":1},{"at":2500,"error":"rejected","messenger":"","counted":false}]',
  settled_at: null,
  lease_owner: 'owner',
  lease_expires_at: 4000,
};

describe('outbox entry mapping', () => {
  it('maps an SQL row, its times through the clock, and freezes the entry and the message', () => {
    const entry = outboxRowToEntry(row, (ms) => ms - 100);
    expect(entry).toEqual({
      message: {
        id: 'm1',
        topic: '.a',
        key: 'order-7',
        body: { n: 1, nested: { list: [1, { x: 2 }] } },
        headers: { priority: 4 },
        timestamp: 5,
      },
      status: 'pending',
      attempts: 2,
      createdAt: 900,
      nextAttemptAt: 2900,
      lastError: 'rejected',
      history: [
        { at: 1400, error: 'refused', messenger: 'AmqpMessenger', counted: true },
        { at: 2400, error: 'rejected', messenger: '', counted: false },
      ],
      lease: { owner: 'owner', expiresAt: 3900 },
    });
    expect(Object.isFrozen(entry)).toBe(true);
    expect(Object.isFrozen(entry.history)).toBe(true);
    expect(Object.isFrozen(entry.history[0])).toBe(true);
    expect(Object.isFrozen(entry.lease)).toBe(true);
    expect(Object.isFrozen((entry.message.body.nested as { list: object[] }).list[1])).toBe(true);
    expect('settledAt' in entry).toBe(false);
  });

  it('reads a missing next attempt time as due when stored, and leaves unset fields out', () => {
    const entry = outboxRowToEntry({
      ...row,
      next_attempt_at: null,
      last_error: null,
      lease_owner: null,
      settled_at: 7,
    });
    expect(entry.nextAttemptAt).toBe(1000);
    expect(entry.settledAt).toBe(7);
    expect(Object.keys(entry)).not.toContain('lastError');
    expect(Object.keys(entry)).not.toContain('lease');
  });

  it('reads a dead row with its reason, a null key as no ordering, and a key left empty by older code as the topic', () => {
    const dead = outboxRowToEntry({ ...row, status: 'dead', dead_reason: 'rejected', ordering_key: null });
    expect(dead.deadReason).toBe('rejected');
    expect(dead.message.key).toBeNull();
    expect(outboxRowToEntry({ ...row, ordering_key: '' }).message.key).toBe('.a');
    // A reason is only shown for a dead message.
    expect('deadReason' in outboxRowToEntry({ ...row, dead_reason: 'expired' })).toBe(false);
  });

  it('maps in-memory state the same way: undefined is absent, a lease needs owner and expiry', () => {
    const message = restoreMessage('m2', '.b', '.b', '{}', '{}', 1);
    const state = {
      message,
      status: 'dead' as const,
      attempts: 1,
      createdAt: 10,
      nextAttemptAt: 10,
      lastError: undefined,
      deadReason: 'expired' as const,
      history: [{ at: 15, error: 'too old', messenger: 'LoggingMessenger', counted: true }],
      settledAt: 20,
      leaseOwner: 'owner',
      leaseExpiresAt: undefined,
    };
    expect(toOutboxEntry(state)).toEqual({
      message,
      status: 'dead',
      attempts: 1,
      createdAt: 10,
      nextAttemptAt: 10,
      deadReason: 'expired',
      history: [{ at: 15, error: 'too old', messenger: 'LoggingMessenger', counted: true }],
      settledAt: 20,
    });
  });
});
