import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Message } from '../kernel/message.interface.js';
import { LOGGER_CONTEXT, MESSAGING_OPTIONS } from '../kernel/messaging.constants.js';
import { Messenger } from '../kernel/messenger.interface.js';
import type { ResolvedDispatchOptions } from './dispatch-options.interface.js';
import { DeliveryLog } from './delivery-log.js';
import { OutboxStore, type FailedAttempt, type OutboxEntry } from '../kernel/outbox-store.interface.js';
import { nextAttemptAt, retryDelayMs } from './retry-schedule.js';
import { sendOutcome } from './send-outcome.js';

/** Options the dispatcher needs, resolved once at start-up. */
export interface DispatcherOptions {
  readonly dispatch: ResolvedDispatchOptions;
  readonly shutdownTimeoutMs: number;
}

/** Counters since the process started. */
export interface DispatchCounters {
  /** Messages stored in the outbox. */
  accepted: number;
  /** Messages the outbox refused (memory store full, or a failed write). */
  refused: number;
  delivered: number;
  /** Failed attempts that counted against a message. */
  failedAttempts: number;
  /** Messages declared dead. */
  dead: number;
}

interface Waiter {
  remaining: number;
  readonly resolve: () => void;
}

// Batches in flight at once; a topic's messages still go out in order (see OutboxStore.claim).
const MAX_IN_FLIGHT = 4;

/**
 * Moves messages from the outbox store to the messenger: claims due messages
 * under a lease, sends them in batches, marks them delivered, schedules
 * retries with backoff, declares dead the ones out of attempts, and pauses as
 * a whole while the bus is unreachable.
 */
@Injectable()
export class OutboxDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** This process's lease owner id. */
  readonly owner = ownerId(process.pid);
  readonly counters: DispatchCounters = { accepted: 0, refused: 0, delivered: 0, failedAttempts: 0, dead: 0 };
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private readonly log: DeliveryLog;
  private readonly options: ResolvedDispatchOptions;
  private stopping = false;
  private pumping = false;
  private pumpScheduled = false;
  private readonly root = new AsyncResource('nestjs-messaging:dispatcher');
  private wakeAgain = false;
  private inFlight = 0;
  private readonly idleWaiters = new Set<() => void>();
  private readonly shutdownTimeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pausedUntil = 0;
  private unavailableStreak = 0;
  private lastPurgeAt = 0;
  /** When a claim last came back short (nothing else due); the next one waits out `batchWindowMs` from it. */
  private lastShortClaimAt = Number.NEGATIVE_INFINITY;
  private readonly batchWindowMs: number;
  /** A pump stopped because every slot was taken. */
  private slotsFull = false;
  private readonly waiters = new Map<string, Waiter>();

  constructor(
    @Inject(OutboxStore) private readonly store: OutboxStore,
    @Inject(Messenger) private readonly messenger: Messenger,
    @Inject(MESSAGING_OPTIONS) options: DispatcherOptions,
  ) {
    this.options = options.dispatch;
    this.batchWindowMs = options.dispatch.batchWindowMs ?? store.preferredBatchWindowMs ?? 0;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs;
    this.log = new DeliveryLog(this.logger, this.options.summaryIntervalMs);
  }

  /** Sends what is already in the store once every module (the messenger's connection among them) is initialised. */
  async onApplicationBootstrap(): Promise<void> {
    // Messages committed by other processes, or by database transactions, wake us as they arrive.
    this.store.watch?.(() => {
      if (!this.stopping) this.wake();
    });
    try {
      await this.releaseLeasesOfDeadProcesses();
    } catch (error) {
      this.log.storeFailed(error);
    }
    // Messages left by a previous run (or another process) go out now, not at the first request.
    this.wake();
  }

  /** Stops claiming new work, delivers what it can within `shutdownTimeoutMs`, leaves the rest to the store. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.stopping) return;
    const deadline = Date.now() + this.shutdownTimeoutMs;
    this.stopping = true;
    clearTimeout(this.timer);
    await this.whenIdle(deadline);
    // One batch at a time while time is left. The pause is ignored: the bus may be back already, and
    // the messenger knows; the first "unreachable" ends the drain.
    this.pausedUntil = 0;
    while (Date.now() < deadline && this.pausedUntil === 0) {
      if ((await this.sendOnce(Date.now())) === 0) break;
      await this.whenIdle(deadline);
    }
    this.log.stop();
    await this.reportLeftovers();
  }

  /**
   * A process on this host that died (`kill -9`, a crash) left its leases behind: they are
   * given back now rather than when they expire, so a restart resends at once. Leases of
   * other hosts, or of processes still alive, wait for their expiry.
   */
  private async releaseLeasesOfDeadProcesses(): Promise<void> {
    const leased = (await this.store.list({ status: 'pending' }, 100_000)).filter(({ lease }) => lease !== undefined);
    const byOwner = new Map<string, string[]>();
    for (const { lease, message } of leased) {
      if (lease === undefined || lease.owner === this.owner || !isDeadLocalOwner(lease.owner)) continue;
      byOwner.set(lease.owner, [...(byOwner.get(lease.owner) ?? []), message.id]);
    }
    const now = Date.now();
    for (const [owner, ids] of byOwner) {
      const error = `claimed by ${owner}, which is no longer running`;
      await this.store.reschedule(
        owner,
        ids.map((id) => ({ id, error, counted: false, nextAttemptAt: now })),
        now,
      );
      this.logger.warn(
        `Took over ${ids.length} message(s) from ${owner}, which is no longer running; sending them again`,
      );
    }
  }

  /** Asks for a look at the store now (new messages were appended). */
  wake(): void {
    if (this.stopping) return;
    if (this.pumping) {
      this.wakeAgain = true;
      return;
    }
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    const run = (): void => {
      this.pumpScheduled = false;
      void this.pump();
    };
    // Right after a short batch, gather for the rest of the batch window.
    const gather = this.lastShortClaimAt + this.batchWindowMs - Date.now();
    // One look per event-loop turn, whatever the number of requests that finished in it; and
    // outside any request's async context, which the dispatcher must not carry along.
    this.root.runInAsyncScope(() => {
      if (gather > 0) setTimeout(run, gather);
      else setImmediate(run);
    });
  }

  /** Logs (rate-limited) messages the outbox refused. */
  refused(messages: readonly Message[], reason: string): void {
    this.log.refused(messages, reason);
  }

  /**
   * Resolves once each of `messages` was attempted (delivered, or failed once), after
   * `awaitTimeoutMs`, or at once while the bus is known to be unreachable.
   */
  whenAttempted(messages: readonly Message[]): Promise<void> {
    // While the bus is unreachable, waiting would only hold the response until the next probe.
    if (messages.length === 0 || Date.now() < this.pausedUntil) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const { id } of messages) this.waiters.delete(id);
        resolve();
      }, this.options.awaitTimeoutMs);
      const waiter: Waiter = {
        remaining: messages.length,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      for (const { id } of messages) this.waiters.set(id, waiter);
    });
  }

  // Methods, not the fields: both change while the pump awaits the store.
  private isRunning(): boolean {
    return !this.stopping;
  }

  private wokenMeanwhile(): boolean {
    return this.wakeAgain;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.wakeAgain = false;
        const now = Date.now();
        if (now < this.pausedUntil) break;
        while (this.isRunning()) {
          if (this.inFlight >= MAX_IN_FLIGHT) {
            // Work may be waiting for a slot: the next batch to finish wakes the pump.
            this.slotsFull = true;
            break;
          }
          // A short batch means nothing else was due: claiming again would come back empty.
          if ((await this.sendOnce(now)) < this.options.batchSize) {
            this.lastShortClaimAt = Date.now();
            break;
          }
        }
        // With a batch window, work that arrived meanwhile waits for it (below).
      } while (this.wokenMeanwhile() && this.isRunning() && this.batchWindowMs === 0);
      await this.purgeDelivered();
    } catch (error) {
      this.log.storeFailed(error);
    } finally {
      this.pumping = false;
      this.notifyIdle();
      if (this.wokenMeanwhile() && this.isRunning()) this.wake();
      // A batch in flight wakes the pump when it ends; otherwise look again when work is due.
      else if (this.inFlight === 0) this.scheduleNextLook();
    }
  }

  /** Claims one batch and starts sending it; returns its size (0 when nothing was due). */
  private async sendOnce(now: number): Promise<number> {
    const entries = await this.store.claim({
      owner: this.owner,
      limit: this.options.batchSize,
      now,
      leaseMs: this.options.leaseMs,
    });
    if (entries.length === 0) return 0;
    this.inFlight++;
    const full = entries.length === this.options.batchSize;
    void this.deliver(entries).finally(() => {
      this.inFlight--;
      this.notifyIdle();
      if (this.stopping) return;
      // A full batch suggests more is waiting, and so does a pump that found every slot taken:
      // this freed slot is for them. Otherwise new work wakes the pump itself (appends,
      // notifications); the last batch out sets the timer for retries and polling.
      if (full || this.slotsFull) {
        this.slotsFull = false;
        this.wake();
      } else if (this.inFlight === 0 && !this.pumping) this.scheduleNextLook();
    });
    return entries.length;
  }

  private async deliver(entries: readonly OutboxEntry[]): Promise<void> {
    const messages = entries.map(({ message }) => message);
    let failure: unknown;
    let timer: NodeJS.Timeout | undefined;
    try {
      // A send that never settles must not hold a slot for ever; past the lease, the
      // messages may be claimed again anyway.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`the messenger's send() did not settle within leaseMs (${this.options.leaseMs} ms)`));
        }, this.options.leaseMs);
      });
      await Promise.race([this.messenger.send(messages), timeout]);
    } catch (error) {
      failure = error ?? new Error('send() rejected without a reason');
    } finally {
      clearTimeout(timer);
    }
    const now = Date.now();
    try {
      if (failure === undefined) {
        await this.store.markDelivered(
          this.owner,
          messages.map(({ id }) => id),
          now,
          this.options.retainDeliveredMs > 0,
        );
        this.counters.delivered += messages.length;
        this.log.delivered(messages.length);
        this.noteAvailable();
      } else {
        await this.recordFailure(entries, failure, now);
      }
    } catch (error) {
      // The store failed: the leases run out and the messages are sent again (at least once).
      this.log.storeFailed(error);
    }
    for (const { id } of messages) this.settleWaiter(id);
  }

  private async recordFailure(entries: readonly OutboxEntry[], error: unknown, now: number): Promise<void> {
    const outcome = sendOutcome(
      error,
      entries.map(({ message }) => message),
    );
    if (outcome.deliveredIds.length > 0) {
      await this.store.markDelivered(this.owner, outcome.deliveredIds, now, this.options.retainDeliveredMs > 0);
      this.counters.delivered += outcome.deliveredIds.length;
      this.log.delivered(outcome.deliveredIds.length);
    }
    const byId = new Map(entries.map((entry) => [entry.message.id, entry]));
    const failures: FailedAttempt[] = [];
    const retried: { message: Message; attempt: number; nextAttemptAt: number; reason: string }[] = [];
    const dead: { message: Message; attempt: number; reason: string }[] = [];
    for (const { message, reason, counted } of outcome.unsent) {
      const entry = byId.get(message.id);
      if (entry === undefined) continue;
      if (!counted) {
        failures.push({ id: message.id, error: reason, counted: false, nextAttemptAt: now });
        continue;
      }
      const attempt = entry.attempts + 1;
      const next = nextAttemptAt(this.options.retry, attempt, entry.createdAt, now);
      failures.push({ id: message.id, error: reason, counted: true, nextAttemptAt: next });
      if (next === undefined) dead.push({ message, attempt, reason });
      else retried.push({ message, attempt, nextAttemptAt: next, reason });
    }
    await this.store.reschedule(this.owner, failures, now);
    this.counters.failedAttempts += retried.length + dead.length;
    this.counters.dead += dead.length;
    this.log.retrying(retried);
    this.log.dead(dead);
    if (outcome.unavailable !== undefined) this.noteUnavailable(outcome.unavailable, now);
  }

  private noteUnavailable(reason: string, now: number): void {
    this.unavailableStreak++;
    const delay = Math.min(retryDelayMs(this.options.retry, this.unavailableStreak), this.options.busProbeIntervalMs);
    this.pausedUntil = Math.max(this.pausedUntil, now + delay);
    this.log.unavailable(reason, this.pausedUntil);
  }

  private noteAvailable(): void {
    if (this.unavailableStreak === 0) return;
    this.unavailableStreak = 0;
    this.pausedUntil = 0;
    this.log.available();
  }

  private settleWaiter(id: string): void {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return;
    this.waiters.delete(id);
    if (--waiter.remaining === 0) waiter.resolve();
  }

  private scheduleNextLook(): void {
    if (this.stopping) return;
    const now = Date.now();
    // Paused (bus unreachable): wake when the pause ends, without asking the store, whose
    // backlog grows with every request meanwhile.
    if (now < this.pausedUntil) {
      this.setTimer(this.pausedUntil);
      return;
    }
    void this.store.nextDueAt().then(
      (due) => {
        if (this.stopping) return;
        const at = Date.now();
        const poll = at + this.options.pollIntervalMs;
        // Never sooner than 10 ms: a due time already past means another owner's lease is about to run out.
        this.setTimer(Math.max(this.pausedUntil, at + 10, Math.min(poll, due ?? poll)));
      },
      (error: unknown) => {
        this.log.storeFailed(error);
      },
    );
  }

  private setTimer(at: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.wake();
      },
      Math.max(0, at - Date.now()),
    );
    // The timer alone must not keep a finished script alive.
    this.timer.unref();
  }

  private async purgeDelivered(): Promise<void> {
    const retain = this.options.retainDeliveredMs;
    const now = Date.now();
    // At most once a minute (more often only for a shorter retention): a purge is a table scan.
    if (retain === 0 || now - this.lastPurgeAt < Math.min(60_000, retain)) return;
    this.lastPurgeAt = now;
    await this.store.purge({ status: 'delivered', before: now - retain }, { skipIfBusy: true });
  }

  /** Resolves when no batch is in flight and the pump rests, or at `deadline`. */
  private whenIdle(deadline: number): Promise<void> {
    if (this.inFlight === 0 && !this.pumping) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(check);
        resolve();
      };
      const check = (): void => {
        if (this.inFlight === 0 && !this.pumping) finish();
      };
      const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
      this.idleWaiters.add(check);
    });
  }

  private notifyIdle(): void {
    for (const check of [...this.idleWaiters]) check();
  }

  private async reportLeftovers(): Promise<void> {
    const left = await this.store.list({ status: 'pending' }, Number.MAX_SAFE_INTEGER);
    if (left.length === 0) return;
    const ids = left.map(({ message }) => message.id);
    if (this.store.durable) {
      this.logger.warn(
        `Shutting down with ${ids.length} message(s) still pending; they stay in the outbox and are sent after the next start`,
      );
    } else {
      this.logger.error(
        `Shutting down with ${ids.length} undelivered message(s) in the memory outbox; they are lost ` +
          `(unless a send still in flight completes): ${ids.join(', ')}`,
      );
    }
  }
}

/** `<host>-<pid>-<random>`: unique per process, and tells whether its process is still alive here. */
function ownerId(pid: number): string {
  return `${hostname()}-${pid}-${randomUUID().slice(0, 8)}`;
}

/** Whether `owner` names a process of this host that has ended. */
function isDeadLocalOwner(owner: string): boolean {
  const parts = owner.split('-');
  if (parts.length < 3) return false;
  const pid = Number(parts[parts.length - 2]);
  const host = parts.slice(0, -2).join('-');
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: alive, under another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
