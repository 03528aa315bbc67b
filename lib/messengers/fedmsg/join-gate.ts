interface Join {
  readonly deadline: number;
  /** Whether a subscription message ends the wait early (false: wait the whole time). */
  readonly endsOnSubscription: boolean;
}

/**
 * Holds publishing back while a subscriber is joining, so it does not miss
 * messages (ZeroMQ's slow-joiner problem): a PUB socket drops what it sends
 * before a new peer's subscription has arrived. Each join waits for a
 * subscription message, at most `timeoutMs`; fedmsg instead sleeps
 * `post_init_sleep` once, after start-up.
 */
export class JoinGate {
  private joins: Join[] = [];
  private readonly wakers = new Set<() => void>();

  constructor(private readonly timeoutMs: number) {}

  /** A peer connected, or the socket opened: wait for a subscription (or the whole timeout). */
  expect(endsOnSubscription: boolean): void {
    if (this.timeoutMs === 0) return;
    this.joins.push({ deadline: Date.now() + this.timeoutMs, endsOnSubscription });
  }

  /** A subscription arrived: the oldest join it can end is over. */
  subscribed(): void {
    this.endOldest();
  }

  /**
   * A peer disconnected: its subscription may never come, so the oldest
   * join that waits for one is over (ZeroMQ does not say which peer left).
   */
  left(): void {
    this.endOldest();
  }

  private endOldest(): void {
    const index = this.joins.findIndex((join) => join.endsOnSubscription);
    if (index < 0) return;
    this.joins.splice(index, 1);
    for (const wake of [...this.wakers]) wake();
  }

  /** `undefined` when publishing may go ahead now (the usual case), else a promise for when it may. */
  whenOpen(): Promise<void> | undefined {
    if (this.joins.length === 0) return undefined;
    return this.waitOpen();
  }

  private async waitOpen(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.joins = this.joins.filter((join) => join.deadline > now);
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
}
