import { Logger } from '@nestjs/common';
import type { DedicatedConnection } from './postgres-outbox.connection.js';

const RECONNECT_MS = 1000;

/**
 * One dedicated connection that LISTENs on the outbox channel and calls
 * back on every notification. It reconnects after a lost connection and
 * calls back then too: work may have arrived while it was away.
 */
export class PostgresNotifications {
  private readonly logger = new Logger('PostgresOutboxStore');
  private connection: DedicatedConnection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private warned = false;

  constructor(
    private readonly connect: () => Promise<DedicatedConnection>,
    private readonly channel: string,
    private readonly onNotification: () => void,
  ) {}

  /** Connects and listens; a failure is logged and retried, never thrown: polling covers the gap. */
  async start(): Promise<void> {
    if (this.closed) return;
    let connection: DedicatedConnection | undefined;
    try {
      connection = await this.connect();
      const { client } = connection;
      if (this.isClosed()) {
        await connection.end();
        return;
      }
      const current = connection;
      client.on('notification', () => {
        this.onNotification();
      });
      client.on('error', () => {
        // 'end' follows and schedules the reconnect.
      });
      client.on('end', () => {
        if (this.connection === current) this.scheduleReconnect();
      });
      this.connection = connection;
      await client.query(`LISTEN "${this.channel}"`);
      if (this.warned) this.logger.log(`Listening for new outbox messages again on "${this.channel}"`);
      this.warned = false;
      this.onNotification();
    } catch (error) {
      if (this.isClosed()) {
        // Closed while connecting: nothing to warn about.
        void connection?.end().catch(() => undefined);
        return;
      }
      if (!this.warned) {
        this.logger.warn(
          `Cannot LISTEN on "${this.channel}" (${error instanceof Error ? error.message : String(error)}); ` +
            'polling until it works',
        );
        this.warned = true;
      }
      this.connection = undefined;
      void connection?.end().catch(() => undefined);
      this.scheduleReconnect();
    }
  }

  /** Stops listening and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const connection = this.connection;
    this.connection = undefined;
    await connection?.end().catch(() => undefined);
  }

  /** Whether `close()` was called (a method: it may change while `start()` awaits). */
  private isClosed(): boolean {
    return this.closed;
  }

  private scheduleReconnect(): void {
    this.connection = undefined;
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.start(), RECONNECT_MS);
    this.timer.unref();
  }
}
