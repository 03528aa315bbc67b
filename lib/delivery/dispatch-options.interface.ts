import type { Message } from '../kernel/message.interface.js';

/** The built-in retry schedule: exponential, capped, with jitter. */
export interface BackoffOptions {
  /** Delay before the second attempt, in ms. Default: `1000`. */
  initialDelayMs?: number;
  /** Each further delay is the previous one times this. Default: `2`. */
  multiplier?: number;
  /** Longest delay between two attempts, in ms. Default: `300000` (5 minutes). */
  maxDelayMs?: number;
  /**
   * Share of each delay drawn at random, so that messages that failed
   * together do not retry together: a delay `d` becomes a value in
   * `[d × (1 − jitter), d]`. Default: `0.5`.
   */
  jitter?: number;
}

/**
 * A retry schedule of the application's own: the delay, in ms (a finite
 * number >= 0), before the next attempt of `message`, whose attempt number
 * `attempt` (1 for its first) just failed with `error` (what `send()` threw:
 * for a `MessengerSendError`, find this message's entry in `error.failures`
 * by `messageId`). `maxAttempts` and `maxAgeMs` still apply, and a
 * messenger's `retryAt` still wins when later. When it throws or returns
 * anything else, the error is logged and the built-in schedule is used.
 */
export type BackoffFunction = (attempt: number, error: unknown, message: Message) => number;

/**
 * Decides whether a failed attempt is worth repeating: `false` declares the
 * message dead at once, with dead reason `rejected`; `true` leaves it to the
 * retry schedule. Arguments: what `send()` threw (for a `MessengerSendError`,
 * find this message's entry in `error.failures` by `messageId`), the number
 * of the attempt that failed (1 for the first), the message. Called only for
 * counted failures: never while the bus is unreachable
 * (`MessengerUnavailableError`, `counted: false`), nor for failures the
 * messenger already marked non-retryable. When it throws, the error is
 * logged and the message is retried.
 */
export type RetryIf = (error: unknown, attempt: number, message: Message) => boolean;

/**
 * When to try a failed message again, and when to give up on it. The
 * schedule's fields may be given here (as before) or in `backoff`, not both.
 */
export interface RetryOptions extends BackoffOptions {
  /**
   * The retry schedule: the built-in one's fields (as an object), or a
   * function of the attempt, the error and the message returning the delay
   * in ms. With a function, `initialDelayMs` (here) still sets the first wait
   * while the bus is unreachable, and `multiplier`, `maxDelayMs` and
   * `jitter` are refused. Default: the built-in schedule with the fields above.
   */
  backoff?: BackoffOptions | BackoffFunction;
  /** Which failures are worth retrying; see `RetryIf`. Default: every counted failure is retried. */
  retryIf?: RetryIf;
  /** Failed attempts after which a message is declared dead (reason `exhausted`). Default: `20` (about an hour with the default schedule). */
  maxAttempts?: number;
  /** Age (since it was accepted), in ms, after which a message that fails again is declared dead (reason `expired`). Default: `86400000` (a day). */
  maxAgeMs?: number;
}

/** `RetryOptions` validated, with every default applied (internal). */
export interface RetryConfig extends Required<BackoffOptions> {
  readonly maxAttempts: number;
  readonly maxAgeMs: number;
  /** The application's schedule, when it gave a function; else the built-in one. */
  readonly backoff: BackoffFunction | undefined;
  readonly retryIf: RetryIf | undefined;
}

/**
 * What a failed message does to its ordering key while it waits for its retry:
 * - `step-aside`: it steps out of line; the key's later messages go on without it, and it is
 *   delivered later, after them (the behaviour before ordering keys had a choice);
 * - `hold`: the key waits: none of its later messages is sent until this one is delivered or
 *   dead (its retries spent, or refused for good), so the key's order is never broken, at the
 *   cost of the key standing still while the message fails.
 * Whatever the choice, messages of other keys, and messages without a key, go on.
 */
export type OnKeyFailure = 'step-aside' | 'hold';

/** How ordering keys (`AddMessageOptions.key`) behave when their head fails. */
export interface OrderingOptions {
  /**
   * For every key, or per key: a function given the ordering key that returns the choice for it
   * (for example `(key) => (key.startsWith('account:') ? 'hold' : 'step-aside')`), called each
   * time a message of the key fails and is kept for a retry; one that throws or returns
   * anything else counts as `'step-aside'`. Default: `'step-aside'`.
   */
  onFailure?: OnKeyFailure | ((key: string) => OnKeyFailure);
}

/**
 * When a successful request's response is sent relative to its messages:
 * - `background`: as soon as they are in the outbox (written to disk, for a
 *   durable store); the delivery worker sends them meanwhile. Broker latency
 *   and outages never reach response times (PDC's behaviour, made reliable).
 * - `await`: after their first delivery attempt (delivered, or failed and
 *   kept for a retry), at most `dispatch.awaitTimeoutMs`. Each response then
 *   pays a broker round trip, and a slow broker slows every request.
 */
export type DeliveryMode = 'background' | 'await';

/** How the delivery worker moves messages from the outbox to the messenger. */
export interface DispatchOptions {
  /** Most messages handed to the messenger in one `send()`. Default: `200`. */
  batchSize?: number;
  /**
   * After a batch shorter than `batchSize` (nothing else was due), wait this
   * long (ms) before claiming again, so messages that arrive meanwhile leave
   * together: fewer round trips to the store and the bus under steady load,
   * for at most this much added delivery latency. A backlog is never slowed.
   * Default: the store's `preferredBatchWindowMs` (`PostgresOutboxStore`,
   * `MysqlOutboxStore`, `SqliteOutboxStore`: 10; `MemoryOutboxStore`: 5), else `0`.
   */
  batchWindowMs?: number;
  /**
   * How long a process holds the messages it claimed, in ms. When it dies,
   * another one (or itself after a restart) sends them after this. Must be
   * greater than `sendTimeoutMs`. Default: `60000` ms.
   */
  leaseMs?: number;
  /**
   * The longest one batch may take, in ms, counted from the moment its
   * messages were claimed: the claim's round trip to the store, any wait
   * behind an earlier batch of the same topic, and the messenger's `send()`
   * all fit in it. A `send()` that has not settled by then counts as a failed
   * attempt of its messages (they are retried on the retry schedule) and frees
   * its slot. Being shorter than the lease, it ends the attempt while this
   * process still holds the messages: no other instance can claim them while
   * they may still be on their way. Keep the messenger's own timeout (for
   * example `AmqpMessenger`'s `sendTimeoutMs`) below it, so that its more
   * precise error is the one recorded.
   * Default: three quarters of `leaseMs` (`45000`); must be less than `leaseMs`, else
   * start-up fails with `MessagingOptionsError` naming both options.
   */
  sendTimeoutMs?: number;
  /**
   * How often to look at the store for work nobody announced (retries due,
   * `retry` from the CLI, expired leases). Default: `1000` ms.
   */
  pollIntervalMs?: number;
  /**
   * While the bus is unreachable, the longest wait between two tries: the
   * wait starts at `retry.initialDelayMs` and doubles up to this. A try while
   * the messenger is still reconnecting costs one failed call. Default: `5000` ms.
   */
  busProbeIntervalMs?: number;
  /** Retry schedule and limits. */
  retry?: RetryOptions;
  /**
   * Keep delivered messages this long (ms) before purging them; `0` deletes
   * each message when it is delivered. Default: `0`.
   */
  retainDeliveredMs?: number;
  /**
   * With `delivery: 'await'`, the longest a response waits for its messages'
   * first attempt; they stay in the outbox after it. Default: `30000` ms.
   */
  awaitTimeoutMs?: number;
  /** While messages are failing, how often to log one summary line. Default: `60000` ms. */
  summaryIntervalMs?: number;
  /** What a failed message does to its ordering key. Default: `{ onFailure: 'step-aside' }`. */
  ordering?: OrderingOptions;
}

/** `DispatchOptions` validated, with every default applied (internal: what the delivery worker reads). */
export interface DispatchConfig {
  readonly batchSize: number;
  /** `undefined`: the store's preference. */
  readonly batchWindowMs: number | undefined;
  readonly leaseMs: number;
  /** Less than `leaseMs`; see `DispatchOptions.sendTimeoutMs`. */
  readonly sendTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly busProbeIntervalMs: number;
  readonly retry: RetryConfig;
  readonly retainDeliveredMs: number;
  readonly awaitTimeoutMs: number;
  readonly summaryIntervalMs: number;
  readonly ordering: Required<OrderingOptions>;
}

/** What delivery reads of the module's resolved options (`MESSAGING_OPTIONS`): internal. */
export interface DeliveryConfig {
  /** Default: `background`. */
  readonly delivery: DeliveryMode;
  readonly dispatch: DispatchConfig;
  /** See `MessagingModuleOptions.shutdownTimeoutMs`. Default: `10000` ms. */
  readonly shutdownTimeoutMs: number;
}
