/** Re-measure at most this often; keep the old offset unless it moved by more than `TOLERANCE_MS`. */
const REMEASURE_MS = 5 * 60_000;
const TOLERANCE_MS = 20;

/**
 * Translates this process's clock into a database's. Several hosts share one
 * outbox, and leases and retry times compare across them: every time an SQL
 * store writes or compares is in database time, so hosts whose clocks drift
 * apart still agree on when a lease expires.
 */
export class DatabaseClock {
  private offsetMs = 0;
  private measuredAt = 0;

  /** @param measure - reads the database's current time, in ms since the epoch (one round trip). */
  constructor(private readonly measure: () => Promise<number | undefined>) {}

  /** Database time for a local time. */
  toDatabase(localMs: number): number {
    return localMs + this.offsetMs;
  }

  /** Local time for a database time. */
  toLocal(databaseMs: number): number {
    return databaseMs - this.offsetMs;
  }

  /** Measures the offset when it is stale (every few minutes); cheap otherwise. */
  async refresh(): Promise<void> {
    if (Date.now() - this.measuredAt < REMEASURE_MS) return;
    this.measuredAt = Date.now();
    const sentAt = Date.now();
    const now = await this.measure();
    const receivedAt = Date.now();
    const offset = Math.round((now ?? receivedAt) - (sentAt + receivedAt) / 2);
    // Small jitter is round-trip noise: keeping the old value keeps times stable for callers.
    if (Math.abs(offset - this.offsetMs) > TOLERANCE_MS) this.offsetMs = offset;
  }
}
