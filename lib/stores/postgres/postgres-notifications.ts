import { Logger } from '@nestjs/common';
import type { Client, ClientConfig } from 'pg';
import type * as Pg from 'pg';

const RECONNECT_MS = 1000;

/**
 * One dedicated connection that LISTENs on the outbox channel and calls
 * back on every notification. It reconnects after a lost connection and
 * calls back then too: work may have arrived while it was away.
 */
export class PostgresNotifications {
  private readonly logger = new Logger('PostgresOutboxStore');
  private client: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private warned = false;

  constructor(
    private readonly pg: typeof Pg,
    private readonly config: ClientConfig,
    private readonly channel: string,
    private readonly onNotification: () => void,
  ) {}

  /** Connects and listens; a failure is logged and retried, never thrown: polling covers the gap. */
  async start(): Promise<void> {
    if (this.closed) return;
    const client = new this.pg.Client(this.config);
    client.on('notification', () => {
      this.onNotification();
    });
    client.on('error', () => {
      // 'end' follows and schedules the reconnect.
    });
    client.on('end', () => {
      if (this.client === client) this.scheduleReconnect();
    });
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
      if (this.warned) this.logger.log(`Listening for new outbox messages again on "${this.channel}"`);
      this.warned = false;
      this.onNotification();
    } catch (error) {
      if (!this.warned) {
        this.logger.warn(
          `Cannot LISTEN on "${this.channel}" (${error instanceof Error ? error.message : String(error)}); ` +
            'polling until it works',
        );
        this.warned = true;
      }
      this.client = undefined;
      void client.end().catch(() => undefined);
      this.scheduleReconnect();
    }
  }

  /** Stops listening and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private scheduleReconnect(): void {
    this.client = undefined;
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.start(), RECONNECT_MS);
    this.timer.unref();
  }
}
