import { outboxRowToEntry, restoreMessage, toOutboxEntry, type OutboxRow } from './outbox-entry.mapper.js';

const row: OutboxRow = {
  id: 'm1',
  topic: '.a',
  body: '{"n":1,"nested":{"list":[1,{"x":2}]}}',
  headers: '{"priority":4}',
  timestamp: 5,
  created_at: 1000,
  status: 'pending',
  attempts: 2,
  next_attempt_at: 3000,
  last_error: 'rejected',
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
        body: { n: 1, nested: { list: [1, { x: 2 }] } },
        headers: { priority: 4 },
        timestamp: 5,
      },
      status: 'pending',
      attempts: 2,
      createdAt: 900,
      nextAttemptAt: 2900,
      lastError: 'rejected',
      lease: { owner: 'owner', expiresAt: 3900 },
    });
    expect(Object.isFrozen(entry)).toBe(true);
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

  it('maps in-memory state the same way: undefined is absent, a lease needs owner and expiry', () => {
    const message = restoreMessage('m2', '.b', '{}', '{}', 1);
    const state = {
      message,
      status: 'dead' as const,
      attempts: 1,
      createdAt: 10,
      nextAttemptAt: 10,
      lastError: undefined,
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
      settledAt: 20,
    });
  });
});
