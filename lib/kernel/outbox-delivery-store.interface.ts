import type { Message } from './message.interface.js';
import type { DeadReason, OutboxEntry } from './outbox-entry.interface.js';

/** What a dispatcher asks a store for. */
export interface ClaimRequest {
  /** Who claims: a unique id per dispatcher (per process). */
  readonly owner: string;
  /** At most this many messages (a whole number >= 1). */
  readonly limit: number;
  /**
   * The current time, in ms since the epoch: messages due at or before it are claimed. A store
   * shared by several processes judges lease expiry by its own clock instead (the SQL stores:
   * the database's), so a caller whose clock is wrong cannot take a live lease.
   */
  readonly now: number;
  /** How long the lease lasts, in ms (by the store's clock); after it, another dispatcher may claim the messages again. */
  readonly leaseMs: number;
}

/** The outcome of one failed attempt, for `OutboxDeliveryStore.reschedule()`. */
export interface FailedAttempt {
  readonly id: string;
  /** Why it failed, as it will be shown to operators. */
  readonly error: string;
  /** Whether the attempt counts towards the message's attempts (not when the bus was unreachable). */
  readonly counted: boolean;
  /** When to try again, in ms since the epoch; `undefined` declares the message dead. */
  readonly nextAttemptAt: number | undefined;
  /** Why the message is dead, when `nextAttemptAt` is `undefined`. Default: `'exhausted'`. Ignored otherwise. */
  readonly deadReason?: DeadReason;
  /** The class name of the messenger that tried, for the message's history. Default: `''`. */
  readonly messenger?: string;
  /**
   * Whether the message, due again at `nextAttemptAt`, holds its ordering key until then: the
   * key's later messages are not claimed before it (`dispatch.ordering.onFailure: 'hold'`, and
   * every uncounted failure: it keeps its place in line).
   * Default: `false`, it steps out of line. Ignored for a message without a key, or declared dead.
   */
  readonly holdsKey?: boolean;
}

/** Options of `OutboxDeliveryStore.append()`. */
export interface AppendOptions {
  /**
   * The first due time of some of the messages, by message id, in ms since the epoch (the
   * caller's clock, as `ClaimRequest.now`): a delayed message is stored pending with its
   * `nextAttemptAt` there, no dispatcher claims it before, and it holds its ordering key until
   * then (the key's later messages wait for it). Messages not in the map are due at once.
   * Default: none.
   */
  readonly availableAt?: ReadonlyMap<string, number>;
  /**
   * The caller tells a dispatcher of this process about the messages itself once they are stored
   * (for a transaction's statement: once it committed), so the store need not wake every instance
   * for them. `PostgresOutboxStore` then skips its insert trigger's `NOTIFY`: PostgreSQL lets one
   * transaction that sent a notification commit at a time, database-wide, so with it every writer
   * of messages waited for the others' commits. Other instances find such rows at their next poll
   * (`dispatch.pollIntervalMs`), should this process not send them. Stores without a wake-up of
   * their own ignore it. Default: `false` (every instance is woken).
   */
  readonly announcedLocally?: boolean;
}

/** What `OutboxDeliveryStore.takeOverLeases()` gave back: `count` messages leased by `owner`. */
export interface TakenOverLeases {
  readonly owner: string;
  readonly count: number;
}

/**
 * What delivery needs from an outbox: the request side appends, the
 * dispatcher claims due messages under a lease, settles or reschedules
 * them, and asks when to look again.
 *
 * **Per-key order** is the store's to keep, in `claim()`: due messages are
 * handed out oldest first (acceptance order; on PostgreSQL commit order within
 * a key), and an ordering key (`Message.key`) is blocked from its first pending
 * message leased to another owner, or holding its key and not due yet
 * (delayed, or failed with `holdsKey`), onwards, so one dispatcher at a time
 * sends a key and a held message is not overtaken. The caller's own leased
 * messages (its batches in flight) and messages waiting for a retry without
 * holding their key are skipped, not blocking: such a failed message steps out
 * of line. Messages without a key (`null`) are never blocked and block nothing.
 *
 * **Leases.** `markDelivered()` and `reschedule()` change only messages still
 * pending and leased by the given owner; the others are left alone without an
 * error (a dispatcher that lost its lease acknowledges late, and changes
 * nothing). Stores shared by several processes (a database) make `claim()`
 * atomic: no message is leased to two owners at once. Another owner's lease
 * ends only when it expires by the store's clock, or when the store proves its
 * owner gone (`takeOverLeases`); never on a PID, a host name or a caller's clock.
 *
 * **Errors.** `append()` rejects with `OutboxWriteError` when the messages
 * cannot be stored. The other methods reject with the storage's own error
 * (a lost connection, a locked file); the dispatcher logs it and looks again
 * later, and the leases it holds run out. A store that connects lazily may
 * reject any call with the error of connecting (`PostgresOutboxStore`: a
 * `MessagingOptionsError` naming the connection options).
 *
 * Implement it together with `OutboxAdminStore` as an `OutboxStore`, the
 * contract `MessagingModule` takes.
 */
export interface OutboxDeliveryStore {
  /**
   * Whether an appended message survives the process dying. Any store's write
   * failure fails the request (its 2xx would promise a delivery nobody can
   * keep); a durable store also keeps taking messages after the shutdown drain.
   */
  readonly durable: boolean;
  /**
   * Optional: the `dispatch.batchWindowMs` this store works best with, in ms,
   * when the application sets none (a store with a round trip per claim gains
   * from larger batches).
   */
  readonly preferredBatchWindowMs?: number;
  /**
   * Stores one request's messages, all or none, in order, as `pending`, due at
   * once (or at `options.availableAt`), with no attempts, an empty history and
   * their ordering key (`Message.key`). Resolves once they are durable (for a
   * durable store). A message whose id is already in the store (pending, dead,
   * or delivered and retained) is skipped, not an error: the store keeps the
   * first (caller-supplied ids make idempotent producers).
   * @throws OutboxWriteError (as a rejection) when the messages cannot be stored; none of them is then.
   */
  append(messages: readonly Message[], options?: AppendOptions): Promise<void>;
  /**
   * Optional, for a store in the process's memory (`durable` false): stores
   * `messages` as `append()` does, at once, in the calling turn. `Outbox` calls
   * it instead of `append()`, so a request waits for no promise.
   * @throws OutboxWriteError (thrown, not a rejection) when the messages cannot be stored; none of them is then.
   */
  appendNow?(messages: readonly Message[], options?: AppendOptions): void;
  /**
   * Leases due, unleased pending messages to `owner` until `now + leaseMs`,
   * oldest first, at most `limit`, keeping per-key order (see above).
   * Resolves to the leased entries (their `lease` set), oldest first; `[]`
   * when nothing is claimable.
   */
  claim(request: ClaimRequest): Promise<OutboxEntry[]>;
  /**
   * Marks messages leased by `owner` delivered: deleted, or kept as
   * `delivered` (lease ended, `settledAt` = `now`, ms since the epoch) when
   * `retain` is true. Ids not leased by `owner` are ignored.
   */
  markDelivered(owner: string, ids: readonly string[], now: number, retain: boolean): Promise<void>;
  /**
   * Records failed attempts of messages leased by `owner`, ending their lease:
   * `lastError` set, `attempts` + 1 when counted, an `AttemptRecord` (at `now`)
   * appended to `history`, then due again at `nextAttemptAt`, or `dead` with
   * `settledAt` = `now` (ms since the epoch) and `deadReason` (default
   * `exhausted`) when it is `undefined`. Ids not leased by `owner` are ignored.
   */
  reschedule(owner: string, failures: readonly FailedAttempt[], now: number): Promise<void>;
  /**
   * The earliest time, in ms since the epoch, a pending message is due and
   * unleased (possibly past), or `undefined` when nothing is pending. A store
   * may leave out messages that cannot be claimed before that time anyway
   * (`PostgresOutboxStore`: those queued behind another owner's lease).
   */
  nextDueAt(): Promise<number | undefined>;
  /**
   * Optional, called once by each dispatcher before its first claim, with its owner id. The
   * store starts vouching that `owner` is alive, until it is closed, and gives back the
   * unexpired leases of other owners it can **prove** gone by something that holds across
   * hosts, PID namespaces and clocks (`PostgresOutboxStore`: a session advisory lock per
   * owner, free once its session ended). Given back: unleased, due as before, `lastError`
   * saying why, attempts unchanged. Resolves to how many messages of which owner. A store
   * that cannot prove an owner gone leaves the method out; leases then end on expiry.
   */
  takeOverLeases?(owner: string): Promise<readonly TakenOverLeases[]>;
  /**
   * Optional: calls `listener` (without arguments) when messages were appended
   * by someone else (another process, a database transaction), so the
   * dispatcher wakes at once rather than at its next poll. Spurious calls are
   * allowed; the dispatcher only looks at the store.
   */
  watch?(listener: () => void): void;
}
