import { Logger } from '@nestjs/common';
import type { MysqlOutboxConnection } from './mysql-outbox.connection.js';

/**
 * The MySQL store's wake-up: MySQL and MariaDB have no LISTEN/NOTIFY, so every `intervalMs`
 * while someone watches, one primary-key lookup (`MAX(sequence)`) tells whether rows were
 * inserted since the last look (by another instance, or by a transaction that committed), and
 * the listeners are called when so. A row committed with a lower sequence than one already seen
 * (two overlapping transactions) is found by the dispatcher's own poll instead. Failures are
 * logged once until a look works again.
 */
export class MysqlInsertWatch {
  private readonly logger = new Logger('MysqlOutboxStore');
  private readonly listeners: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastSequence: number | undefined;
  private looking = false;
  private failing = false;

  constructor(
    private readonly connection: MysqlOutboxConnection,
    private readonly intervalMs: number,
  ) {}

  /** Calls `listener` when rows were inserted; starts looking with the first listener. */
  add(listener: () => void): void {
    this.listeners.push(listener);
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      void this.look();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Calls the listeners now (this process inserted rows). */
  notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Stops looking. Idempotent. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async look(): Promise<void> {
    if (this.looking) return;
    this.looking = true;
    try {
      await this.connection.whenReady();
      const rows = await this.connection.query<{ last: number | string | null }[]>(
        'looking for new messages',
        `SELECT MAX(sequence) AS last FROM ${this.connection.table}`,
      );
      const last = Number(rows.at(0)?.last ?? 0);
      // The first look cannot tell what is new: rows there may be (a spurious wake is allowed).
      const grew = last > (this.lastSequence ?? 0);
      this.lastSequence = last;
      if (this.failing) this.logger.log('Looking for new messages works again');
      this.failing = false;
      if (grew) this.notify();
    } catch (error) {
      if (!this.failing)
        this.logger.warn(
          `Cannot look for new messages (${error instanceof Error ? error.message : String(error)}); ` +
            'the dispatcher still polls, and this is tried again',
        );
      this.failing = true;
    } finally {
      this.looking = false;
    }
  }
}
