import { isSqliteBusy, SqliteBusyError, whenUnlocked } from './sqlite-busy.js';

/** What better-sqlite3 throws while another connection holds the lock. */
function busy(code = 'SQLITE_BUSY'): Error {
  return Object.assign(new Error('database is locked'), { code });
}

/** An operation that fails with SQLITE_BUSY `times` times, then returns 'done'; counts its calls. */
function lockedFor(times: number): { calls: number; operation: () => string } {
  const state = {
    calls: 0,
    operation: (): string => {
      state.calls++;
      if (state.calls <= times) throw busy();
      return 'done';
    },
  };
  return state;
}

describe('whenUnlocked', () => {
  it('runs the operation at once when the database is not locked', async () => {
    const op = lockedFor(0);
    await expect(whenUnlocked(op.operation, 1000, '/x.db', 'testing')).resolves.toBe('done');
    expect(op.calls).toBe(1);
  });

  it('tries again on a timer while SQLITE_BUSY, and resolves once the lock goes', async () => {
    const op = lockedFor(5);
    await expect(whenUnlocked(op.operation, 1000, '/x.db', 'testing')).resolves.toBe('done');
    expect(op.calls).toBe(6);
  });

  it('gives up after timeoutMs with a SqliteBusyError naming the file, the operation and the wait', async () => {
    const op = lockedFor(Infinity);
    const started = Date.now();
    const error = (await whenUnlocked(op.operation, 100, '/x.db', 'claiming messages').catch(
      (e: unknown) => e,
    )) as SqliteBusyError;
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(error).toBeInstanceOf(SqliteBusyError);
    expect(error.message).toContain('SQLite /x.db: claiming messages gave up after waiting 100 ms (busyTimeoutMs)');
    expect(error.waitedMs).toBe(100);
    expect(isSqliteBusy(error.cause)).toBe(true);
    expect(op.calls).toBeGreaterThan(2);
  });

  it('with timeoutMs 0, fails at the first SQLITE_BUSY', async () => {
    const op = lockedFor(Infinity);
    await expect(whenUnlocked(op.operation, 0, '/x.db', 'testing')).rejects.toBeInstanceOf(SqliteBusyError);
    expect(op.calls).toBe(1);
  });

  it('passes other errors on at once, without trying again', async () => {
    let calls = 0;
    const failure = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    const operation = (): never => {
      calls++;
      throw failure;
    };
    await expect(whenUnlocked(operation, 1000, '/x.db', 'testing')).rejects.toBe(failure);
    expect(calls).toBe(1);
  });

  it('counts the extended busy codes as busy, and nothing else', () => {
    expect(isSqliteBusy(busy('SQLITE_BUSY_RECOVERY'))).toBe(true);
    expect(isSqliteBusy(busy('SQLITE_BUSY_SNAPSHOT'))).toBe(true);
    expect(isSqliteBusy(busy('SQLITE_LOCKED'))).toBe(false);
    expect(isSqliteBusy(new Error('database is locked'))).toBe(false);
    expect(isSqliteBusy(undefined)).toBe(false);
  });
});
