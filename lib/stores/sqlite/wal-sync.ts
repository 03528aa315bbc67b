import { close, fdatasync, openSync } from 'node:fs';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Makes committed transactions durable by syncing the WAL file in libuv's
 * thread pool, so the event loop never waits for the disk. Requests that
 * arrive while a sync runs share the next one (group commit).
 */
export class WalSync {
  private readonly fd: number;
  private syncing = false;
  private waiting: Waiter[] = [];
  private closed: (() => void) | undefined;

  constructor(walPath: string) {
    this.fd = openSync(walPath, 'r');
  }

  /** Resolves once every transaction committed before the call is on disk. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.syncing) this.run();
    });
  }

  /** Closes the file once the syncs in progress and requested have finished. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.closed = () => {
        close(this.fd, () => {
          resolve();
        });
      };
      if (!this.syncing) this.closed();
    });
  }

  private run(): void {
    this.syncing = true;
    const batch = this.waiting;
    this.waiting = [];
    fdatasync(this.fd, (error) => {
      for (const waiter of batch) {
        if (error) waiter.reject(error);
        else waiter.resolve();
      }
      if (this.waiting.length > 0) {
        this.run();
        return;
      }
      this.syncing = false;
      this.closed?.();
    });
  }
}
