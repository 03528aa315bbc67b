import type { Message } from '../kernel/message.interface.js';
import type { Messenger } from '../kernel/messenger.interface.js';

/**
 * A messenger for your application's tests (PDC's TestMessenger): keeps
 * every batch it is given so a test can assert on what a request sent.
 *
 * @example
 * ```ts
 * const capture = new CapturingMessenger();
 * const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
 *   .overrideProvider(Messenger).useValue(capture)
 *   .compile();
 * // ... make a request ...
 * await capture.waitForMessages(1); // the dispatcher sends just after the response
 * expect(capture.topics).toEqual(['.releases.added']);
 * capture.clear();
 * ```
 */
export class CapturingMessenger implements Messenger {
  private readonly sent: (readonly Message[])[] = [];
  private failure: Error | undefined;
  private readonly waiters = new Set<() => void>();

  /** Every batch received, in order, as the dispatcher formed it (a batch may hold several requests' messages). */
  get batches(): readonly (readonly Message[])[] {
    return this.sent;
  }

  /** Every message received, in order, across batches. */
  get messages(): readonly Message[] {
    return this.sent.flat();
  }

  /** The topic of every message received, in order. */
  get topics(): readonly string[] {
    return this.messages.map(({ topic }) => topic);
  }

  /** The bodies of the messages received on `topic`, in order. */
  bodiesOf(topic: string): readonly Message['body'][] {
    return this.messages.filter((message) => message.topic === topic).map(({ body }) => body);
  }

  /** Forgets everything received so far. */
  clear(): void {
    this.sent.length = 0;
  }

  /** Makes every following `send()` reject with `error` (or succeed again with `undefined`). */
  failWith(error: Error | undefined): void {
    this.failure = error;
  }

  /**
   * Resolves once at least `count` messages have been received, for
   * deliveries that happen after the response.
   *
   * @param timeoutMs how long to wait before rejecting. Default: 2000.
   */
  async waitForMessages(count: number, timeoutMs = 2000): Promise<readonly Message[]> {
    if (this.messages.length >= count) return this.messages;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`Expected ${count} message(s) within ${timeoutMs} ms, received ${this.messages.length}`));
      }, timeoutMs);
      const check = (): void => {
        if (this.messages.length < count) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
    return this.messages;
  }

  send(messages: readonly Message[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.sent.push(messages);
    for (const waiter of [...this.waiters]) waiter();
    return Promise.resolve();
  }
}
