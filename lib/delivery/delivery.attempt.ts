import type { Message } from '../kernel/message.interface.js';
import type { Messenger } from '../kernel/messenger.interface.js';
import type { DeadReason, FailedAttempt, OutboxEntry, OutboxStore } from '../kernel/outbox-store.interface.js';
import type { AttemptWaiters } from './attempt.waiters.js';
import type { BusPause } from './bus.pause.js';
import {
  attemptFailedObserved,
  publishAttemptsFailed,
  publishDead,
  publishDelivered,
  publishLeaseLost,
  tracedSend,
  type FailedAttemptEvent,
} from './delivery.events.js';
import type { DeliveryLog } from './delivery.log.js';
import type { DispatchConfig } from './dispatch-options.interface.js';
import { markKeyHolds } from './key.holds.js';
import type { OutboxCounters } from './outbox.counters.js';
import { FailureClassifier } from './failure.classifier.js';
import { sendOutcome } from './send-outcome.js';

/** What became of one attempt, as far as the order of its ordering keys is concerned. */
export interface AttemptResult {
  /**
   * Ordering keys of which a message went back into line: not sent, not counted as
   * an attempt, due again at once (the bus was unreachable, a link dropped), or
   * failed and holds its key (`dispatch.ordering.onFailure: 'hold'`).
   * Messages of these keys claimed after it must not go out before it.
   */
  readonly backInLine: ReadonlySet<string>;
}

/** What an attempt needs; shared by every attempt of one delivery worker. */
export interface AttemptContext {
  readonly store: OutboxStore;
  readonly messenger: Messenger;
  /** The worker's lease owner id. */
  readonly owner: string;
  readonly dispatch: DispatchConfig;
  readonly counters: OutboxCounters;
  readonly waiters: AttemptWaiters;
  readonly pause: BusPause;
  readonly log: DeliveryLog;
}

type Sent = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

/**
 * One delivery attempt of a batch: hands it to the messenger with a
 * deadline, then records the outcome in the store (delivered; or retried on
 * the retry schedule, dead, or back in line when the bus was unreachable),
 * counts it, and tells the bus pause and the `await` waiters.
 */
export class DeliveryAttempt {
  constructor(private readonly context: AttemptContext) {}

  /**
   * Sends `entries` (leased to this worker) in one `send()`, which must settle by `deadline`
   * (ms since the epoch; the claim's time plus `sendTimeoutMs`, inside the lease). Never rejects:
   * a store failure is logged, and the leases then run out and the messages are sent again.
   *
   * @param taken called as soon as the bus took the whole batch, before the store records it: the
   *   next messages of its topics may go out meanwhile.
   */
  async run(entries: readonly OutboxEntry[], deadline: number, taken: () => void): Promise<AttemptResult> {
    const { store, owner, dispatch, counters, log, pause, waiters } = this.context;
    const messages = entries.map(({ message }) => message);
    const sent = await this.send(messages, deadline);
    const now = Date.now();
    let backInLine: ReadonlySet<string> = new Set();
    if (sent.ok) {
      taken();
      publishDelivered(entries, now);
    }
    try {
      if (sent.ok) {
        await store.markDelivered(
          owner,
          messages.map(({ id }) => id),
          now,
          dispatch.retainDeliveredMs > 0,
        );
        counters.add('delivered', messages.length);
        log.delivered(messages.length);
        pause.available(now);
      } else {
        backInLine = await this.recordFailure(entries, sent.error, now);
      }
    } catch (error) {
      log.storeFailed(error);
    }
    publishLeaseLost(owner, entries, Date.now());
    waiters.attempted(messages.map(({ id }) => id));
    return { backInLine };
  }

  private async send(messages: readonly Message[], deadline: number): Promise<Sent> {
    const { messenger, dispatch } = this.context;
    let timer: NodeJS.Timeout | undefined;
    try {
      // A send that never settles must not hold its slot (and its topic) past the deadline,
      // nor run into the lease, after which another instance may claim the messages.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => {
            reject(
              new Error(
                `the messenger's send() did not settle within dispatch.sendTimeoutMs (${dispatch.sendTimeoutMs} ms, counted from the claim)`,
              ),
            );
          },
          Math.max(0, deadline - Date.now()),
        );
      });
      await tracedSend(messenger, messages, timeout);
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error ?? new Error('send() rejected without a reason') };
    } finally {
      clearTimeout(timer);
    }
  }

  private async recordFailure(entries: readonly OutboxEntry[], error: unknown, now: number): Promise<Set<string>> {
    const { store, owner, dispatch, counters, log, pause } = this.context;
    const outcome = sendOutcome(
      error,
      entries.map(({ message }) => message),
    );
    if (outcome.deliveredIds.length > 0) {
      publishDelivered(entries, now, new Set(outcome.deliveredIds));
      await store.markDelivered(owner, outcome.deliveredIds, now, dispatch.retainDeliveredMs > 0);
      counters.add('delivered', outcome.deliveredIds.length);
      log.delivered(outcome.deliveredIds.length);
    }
    const byId = new Map(entries.map((entry) => [entry.message.id, entry]));
    const classifier = new FailureClassifier(dispatch.retry, error, now);
    // For each message's attempt history: the class that tried (AmqpMessenger, ...).
    const messengerName = this.context.messenger.constructor.name;
    const failures: FailedAttempt[] = [];
    const retried: { message: Message; attempt: number; nextAttemptAt: number; reason: string }[] = [];
    const dead: { message: Message; attempt: number; reason: string; deadReason: DeadReason }[] = [];
    const backInLine = new Set<string>();
    // Built only when someone listens to attempt.failed.
    const events: FailedAttemptEvent[] | undefined = attemptFailedObserved() ? [] : undefined;
    for (const unsent of outcome.unsent) {
      const { message, reason } = unsent;
      const entry = byId.get(message.id);
      if (entry === undefined) continue;
      const verdict = classifier.classify(unsent, entry);
      if (verdict.kind === 'back-in-line') {
        const { attempts, nextAttemptAt } = verdict;
        // Not its fault: it keeps its place, so its key waits for it (a retryAt may lie ahead).
        const holdsKey = message.key !== null;
        failures.push({
          id: message.id,
          error: reason,
          counted: false,
          nextAttemptAt,
          messenger: messengerName,
          holdsKey,
        });
        events?.push({ message, reason, counted: false, attempts, nextAttemptAt });
        if (message.key !== null) backInLine.add(message.key);
        continue;
      }
      const { attempt } = verdict;
      const next = verdict.kind === 'retry' ? verdict.nextAttemptAt : undefined;
      failures.push(
        verdict.kind === 'dead'
          ? {
              id: message.id,
              error: reason,
              counted: true,
              nextAttemptAt: undefined,
              deadReason: verdict.reason,
              messenger: messengerName,
            }
          : { id: message.id, error: reason, counted: true, nextAttemptAt: next, messenger: messengerName },
      );
      events?.push({ message, reason, counted: true, attempts: attempt, nextAttemptAt: next });
      if (verdict.kind === 'dead') dead.push({ message, attempt, reason, deadReason: verdict.reason });
      else retried.push({ message, attempt, nextAttemptAt: verdict.nextAttemptAt, reason });
    }
    for (const [option, hookError] of classifier.hookErrors) log.hookFailed(option, hookError);
    await store.reschedule(owner, markKeyHolds(dispatch.ordering, failures, byId, backInLine), now);
    counters.add('failedAttempts', retried.length + dead.length);
    counters.add('dead', dead.length);
    log.retrying(retried);
    log.dead(dead);
    if (events !== undefined) publishAttemptsFailed(events);
    publishDead(dead);
    if (outcome.unavailable !== undefined) pause.unavailable(outcome.unavailable, now, outcome.unavailableLogged);
    return backInLine;
  }
}
