import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Controller, Get } from '@nestjs/common';
import { createMessage, MessagingModule, OutboxWriteError } from 'nestjs-messaging';
import { SqliteBusyError, SqliteOutboxStore } from 'nestjs-messaging/sqlite';
import { CapturingMessenger } from 'nestjs-messaging/testing';
import { startApp, type RunningApp } from './support/http-app.js';
import { OneMessageController } from './support/one-message.controller.js';
import { sleep, waitFor } from './support/wait-for.js';

// Another process holds the outbox file's write lock (the outbox command's purge, a backup).
// better-sqlite3 is synchronous and SQLite's busy handler sleeps inside the call: the store must
// wait for the lock on a timer, so the rest of the application keeps running, and give up after
// busyTimeoutMs with nothing written.
const BUSY_TIMEOUT_MS = 2000;
/**
 * The longest event-loop stall allowed while the lock is held, in ms: a sleep on the lock would be
 * >= BUSY_TIMEOUT_MS; the margin below it absorbs a loaded machine (306 ms seen with 200).
 */
const MAX_STALL_MS = 700;

const HOLDER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });
`;

/** A second process holding `BEGIN IMMEDIATE` on `path` until `release()`. */
async function holdWriteLock(path: string): Promise<{ release(): Promise<void> }> {
  const holder: ChildProcess = spawn(process.execPath, ['-e', HOLDER, path], {
    cwd: process.cwd(),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await once(holder.stdout!, 'data');
  return {
    release: async () => {
      if (holder.exitCode !== null) return;
      const exited = once(holder, 'exit');
      holder.stdin!.write('release\n');
      await exited;
    },
  };
}

/** The event loop's longest delay, in ms, since `enable()`. */
function maxDelayMs(histogram: IntervalHistogram): number {
  return histogram.max / 1e6;
}

@Controller()
class PingController {
  @Get('ping')
  ping(): object {
    return { pong: true };
  }
}

describe('SQLite outbox while another process holds its write lock', () => {
  let dir: string;
  let histogram: IntervalHistogram;
  let holder: { release(): Promise<void> } | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-lock-'));
    histogram = monitorEventLoopDelay({ resolution: 10 });
  });
  afterEach(async () => {
    histogram.disable();
    await holder?.release();
    holder = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  describe('in an application', () => {
    let running: RunningApp | undefined;
    afterEach(async () => {
      await holder?.release();
      await running?.close();
      running = undefined;
    });

    it('keeps serving; requests that add messages fail once after busyTimeoutMs, with nothing stored; then flow again', async () => {
      const bus = new CapturingMessenger();
      const store = new SqliteOutboxStore({ path: join(dir, 'outbox.db'), busyTimeoutMs: BUSY_TIMEOUT_MS });
      running = await startApp('express', {
        imports: [MessagingModule.forRoot({ messenger: bus, outbox: store })],
        controllers: [OneMessageController, PingController],
      });
      const app = running;
      let appends = 0;
      const append = store.append.bind(store);
      store.append = (messages) => {
        appends++;
        return append(messages);
      };
      expect((await app.request('POST', '/one')).status).toBe(201);
      await bus.waitForMessages(1);

      holder = await holdWriteLock(store.path);
      histogram.enable();
      const lockedAt = Date.now();
      const posts = Array.from({ length: 4 }, () =>
        app.request('POST', '/one').then(({ status }) => ({ status, afterMs: Date.now() - lockedAt })),
      );
      const pingStart = Date.now();
      const ping = await app.request('GET', '/ping');
      const pingMs = Date.now() - pingStart;
      const results = await Promise.all(posts);
      const stallMs = maxDelayMs(histogram);

      expect(ping.status).toBe(200);
      expect(pingMs).toBeLessThan(MAX_STALL_MS);
      expect(stallMs).toBeLessThan(MAX_STALL_MS);
      for (const { status, afterMs } of results) {
        expect(status).toBe(500);
        expect(afterMs).toBeGreaterThanOrEqual(BUSY_TIMEOUT_MS - 50);
        expect(afterMs).toBeLessThan(BUSY_TIMEOUT_MS + 1000);
      }
      const errors = app.logs.linesAt('error').filter((line) => line.includes('OutboxWriteError'));
      expect(errors.length).toBeGreaterThanOrEqual(1);
      expect(errors[0]).toContain(`stayed locked by another connection`);
      expect(errors[0]).toContain(`busyTimeoutMs (${String(BUSY_TIMEOUT_MS)} ms)`);

      // A request made while locked is stored once the lock goes, within its busyTimeoutMs.
      const late = app.request('POST', '/one');
      await waitFor(() => appends === 6, 2000, 'the late request to append');
      await holder.release();
      expect((await late).status).toBe(201);
      // The late message is settled once the bus took it (markDelivered follows the send). Had any
      // of the four failed requests' messages been written, it would be pending or delivered too.
      await bus.waitForMessages(2);
      let counts = await store.counts();
      const deadline = Date.now() + 5000;
      while (counts.pending > 0 && Date.now() < deadline) {
        await sleep(20);
        counts = await store.counts();
      }
      expect(counts).toEqual({ pending: 0, delivered: 0, dead: 0 });
      expect(bus.messages).toHaveLength(2);
    });
  });

  it('claims, settles and admin queries wait on a timer, give up with SqliteBusyError, and run once the lock goes', async () => {
    const store = new SqliteOutboxStore({ path: join(dir, 'outbox.db'), busyTimeoutMs: BUSY_TIMEOUT_MS });
    try {
      const messages = [createMessage('.a', { n: 1 }), createMessage('.a', { n: 2 })];
      await store.append(messages);
      const [first] = await store.claim({ owner: 'o', limit: 1, now: Date.now(), leaseMs: 60_000 });

      holder = await holdWriteLock(store.path);
      histogram.enable();
      const started = Date.now();
      const outcomes = await Promise.allSettled([
        store.claim({ owner: 'o', limit: 10, now: Date.now(), leaseMs: 60_000 }),
        store.markDelivered('o', [first.message.id], Date.now(), false),
        store.retry({}, Date.now()),
        store.append([createMessage('.b', {})]),
      ]);
      const waitedMs = Date.now() - started;
      expect(outcomes.map(({ status }) => status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
      const [claim, settle, retry, append] = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason);
      expect(claim).toBeInstanceOf(SqliteBusyError);
      expect(String(claim)).toContain(`claiming messages gave up after waiting ${String(BUSY_TIMEOUT_MS)} ms`);
      expect(settle).toBeInstanceOf(SqliteBusyError);
      expect(retry).toBeInstanceOf(SqliteBusyError);
      expect(append).toBeInstanceOf(OutboxWriteError);
      expect(waitedMs).toBeGreaterThanOrEqual(BUSY_TIMEOUT_MS - 50);
      expect(waitedMs).toBeLessThan(BUSY_TIMEOUT_MS + 1000);
      // Reads in WAL mode do not need the write lock; a retention purge skips at once.
      expect(await store.counts()).toEqual({ pending: 2, delivered: 0, dead: 0 });
      expect(await store.purge({}, { skipIfBusy: true })).toBe(0);

      // Started while locked, they run once the lock goes.
      const claimed = store.claim({ owner: 'o', limit: 10, now: Date.now(), leaseMs: 60_000 });
      const settled = store.markDelivered('o', [first.message.id], Date.now(), false);
      await holder.release();
      expect((await claimed).map(({ message }) => message.id)).toEqual([messages[1].id]);
      await settled;
      expect(await store.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
      expect(maxDelayMs(histogram)).toBeLessThan(MAX_STALL_MS);
    } finally {
      await store.close();
    }
  });
});
