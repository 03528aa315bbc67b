/**
 * Share of the time that joining peers may hold publishing back in the long
 * run (0.1: 10 %), on top of one `joinTimeoutMs` at any time. The hold budget
 * starts at `joinTimeoutMs` and refills by this share of the time passed.
 */
export const JOIN_HOLD_SHARE = 0.1;

/**
 * Longest quiet period after joins that got no subscription, as a multiple
 * of `joinTimeoutMs` (64: 32 s with the default 500 ms).
 */
export const JOIN_QUIET_MAX_FACTOR = 64;

/**
 * How long a subscription that ended no join still counts for a handshake
 * reported after it (ms): ZeroMQ reports the handshake on its monitor socket,
 * which may come after the subscription message itself.
 */
export const JOIN_EARLY_SUBSCRIPTION_MS = 100;

interface Join {
  /** When the wait ends at the latest (ms since the epoch). */
  readonly deadline: number;
  /** Whether a subscription message ends the wait early (false: the start-up wait, the whole time). */
  readonly endsOnSubscription: boolean;
}

/**
 * Holds publishing back while a subscriber is joining, so it does not miss
 * messages (ZeroMQ's slow-joiner problem): a PUB socket drops what it sends
 * before a new peer's subscription has arrived. Each join waits for a
 * subscription message, at most `timeoutMs`; fedmsg instead sleeps
 * `post_init_sleep` once, after start-up.
 *
 * Whatever joining peers do, they hold publishing back for a bounded share
 * of the time:
 * - a join that ends without a subscription (the peer left, or `timeoutMs`
 *   passed) starts a quiet period during which new peers hold nothing back:
 *   `timeoutMs`, doubling with each such join in a row up to
 *   {@link JOIN_QUIET_MAX_FACTOR} × `timeoutMs`; a join answered by a
 *   subscription resets it;
 * - all joins together hold for at most `timeoutMs` plus
 *   {@link JOIN_HOLD_SHARE} of the time passed (a budget; overlapping joins
 *   are charged once, and an early end gives back what was not used).
 *
 * The start-up wait (bind mode) is neither charged nor shortened.
 */
export class JoinGate {
  private joins: Join[] = [];
  private readonly wakers = new Set<() => void>();
  /** Hold time left to spend (ms), net of the hold already scheduled until {@link heldUntil}. */
  private budget: number;
  private refilledAt: number;
  /** Joins in a row that ended without a subscription. */
  private unanswered = 0;
  private quietUntil = 0;
  /** When subscriptions that ended no join arrived (ms), oldest first. */
  private early: number[] = [];

  /**
   * @param timeoutMs longest wait for one join (ms); 0 turns the gate off.
   * @param clock current time (ms); tests pass a fake one.
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.budget = timeoutMs;
    this.refilledAt = clock();
  }

  /**
   * A peer completed the handshake (`endsOnSubscription`), or the socket
   * opened: wait for a subscription (or the whole timeout), unless the
   * quiet period or the hold budget says otherwise.
   */
  expect(endsOnSubscription: boolean): void {
    if (this.timeoutMs === 0) return;
    const now = this.clock();
    if (!endsOnSubscription) {
      this.joins.push({ deadline: now + this.timeoutMs, endsOnSubscription });
      return;
    }
    this.expire(now);
    while (this.early.length > 0 && this.early[0] < now - JOIN_EARLY_SUBSCRIPTION_MS) this.early.shift();
    if (this.early.length > 0) {
      this.early.shift(); // its subscription came before its handshake was reported
      this.answered();
      return;
    }
    if (now < this.quietUntil) return;
    this.refill(now);
    const heldUntil = Math.max(this.heldUntil(), now);
    const deadline = Math.min(now + this.timeoutMs, heldUntil + this.budget);
    if (deadline <= now) return;
    this.budget -= Math.max(0, deadline - heldUntil);
    this.joins.push({ deadline, endsOnSubscription });
  }

  /**
   * A subscription arrived: the oldest join it can end is over, answered.
   * With none, it may be from a peer whose handshake is still to be reported.
   */
  subscribed(): void {
    if (this.endOldest()) this.answered();
    else if (this.timeoutMs > 0 && this.early.length < 16) this.early.push(this.clock());
  }

  /**
   * A peer disconnected: its subscription may never come, so the oldest
   * join that waits for one is over, unanswered (ZeroMQ does not say which peer left).
   */
  left(): void {
    if (this.endOldest()) this.strike(this.clock());
  }

  /** Whether a join holds publishing back now. */
  get holding(): boolean {
    this.expire(this.clock());
    return this.joins.length > 0;
  }

  /** `undefined` when publishing may go ahead now (the usual case), else a promise for when it may. */
  whenOpen(): Promise<void> | undefined {
    if (this.joins.length === 0) return undefined;
    this.expire(this.clock());
    if (this.joins.length === 0) return undefined;
    return this.waitOpen();
  }

  private async waitOpen(): Promise<void> {
    for (;;) {
      const now = this.clock();
      this.expire(now);
      if (this.joins.length === 0) return;
      const until = Math.min(...this.joins.map((join) => join.deadline));
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, until - now);
        this.wakers.add(wake);
      });
    }
  }

  /** Ends the oldest join that waits for a subscription; false when there is none. */
  private endOldest(): boolean {
    const index = this.joins.findIndex((join) => join.endsOnSubscription);
    if (index < 0) return false;
    const now = this.clock();
    const before = Math.max(this.heldUntil(), now);
    this.joins.splice(index, 1);
    this.budget += before - Math.max(this.heldUntil(), now); // give back the hold not used
    for (const wake of [...this.wakers]) wake();
    return true;
  }

  /** Drops joins past their deadline; a peer's join that ran out was not answered. */
  private expire(now: number): void {
    const ranOut = this.joins.some((join) => join.deadline <= now && join.endsOnSubscription);
    this.joins = this.joins.filter((join) => join.deadline > now);
    if (ranOut) this.strike(now);
  }

  private answered(): void {
    this.unanswered = 0;
    this.quietUntil = 0;
  }

  private strike(now: number): void {
    this.unanswered++;
    const factor = Math.min(2 ** (this.unanswered - 1), JOIN_QUIET_MAX_FACTOR);
    this.quietUntil = now + factor * this.timeoutMs;
  }

  private refill(now: number): void {
    this.budget = Math.min(this.timeoutMs, this.budget + (now - this.refilledAt) * JOIN_HOLD_SHARE);
    this.refilledAt = now;
  }

  /** Until when peers' joins hold publishing (0 when none does). */
  private heldUntil(): number {
    let until = 0;
    for (const join of this.joins) if (join.endsOnSubscription && join.deadline > until) until = join.deadline;
    return until;
  }
}
