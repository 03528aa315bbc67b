import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { Messenger } from '../messengers/messenger.interface.js';
import { describeBatch } from './batch-description.js';
import type { Message } from './message.interface.js';
import type { DeliveryMode } from './messaging-options.interface.js';
import { LOGGER_CONTEXT, MESSAGING_OPTIONS } from './messaging.constants.js';

/** Options the flusher needs, resolved once at start-up. */
export interface FlusherOptions {
  readonly delivery: DeliveryMode;
  readonly shutdownTimeoutMs: number;
}

/**
 * Hands each closed batch to the messenger, exactly once. A failing
 * messenger is logged once and never reaches the caller: the response is
 * decided by then. In `background` mode the caller does not wait; sends
 * still in flight are awaited on application shutdown.
 */
@Injectable()
export class MessageFlusher implements BeforeApplicationShutdown {
  private readonly logger = new Logger(LOGGER_CONTEXT);
  // A count rather than a set of promises: this runs on every request that sends.
  private inFlight = 0;
  private drained: (() => void) | undefined;

  constructor(
    @Inject(Messenger) private readonly messenger: Messenger,
    @Inject(MESSAGING_OPTIONS) private readonly options: FlusherOptions,
  ) {}

  /**
   * Starts sending `messages`. Returns a promise to wait on in `await` mode,
   * `undefined` in `background` mode. Never rejects.
   */
  flush(messages: readonly Message[]): Promise<void> | undefined {
    if (messages.length === 0) return undefined;
    let sending: Promise<void>;
    try {
      sending = this.messenger.send(messages);
    } catch (error) {
      this.logFailure(messages, error);
      return undefined;
    }
    // A messenger written in plain JavaScript may forget to return a promise.
    if (typeof (sending as Partial<Promise<void>> | undefined)?.then !== 'function') return undefined;
    this.inFlight++;
    const settled = sending.then(
      () => {
        this.settle();
      },
      (error: unknown) => {
        this.logFailure(messages, error);
        this.settle();
      },
    );
    return this.options.delivery === 'await' ? settled : undefined;
  }

  /** Lets background sends finish (within `shutdownTimeoutMs`) before messengers close their connections. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.inFlight === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const finished = await new Promise<boolean>((resolve) => {
      this.drained = () => {
        resolve(true);
      };
      timer = setTimeout(() => {
        resolve(false);
      }, this.options.shutdownTimeoutMs);
    });
    clearTimeout(timer);
    if (!finished) {
      this.logger.error(
        `Shutting down with ${this.inFlight} batch(es) still being sent after ${this.options.shutdownTimeoutMs} ms; they may be lost`,
      );
    }
  }

  private settle(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.drained?.();
  }

  private logFailure(messages: readonly Message[], error: unknown): void {
    this.logger.error(
      `Failed to send ${describeBatch(messages)}: ${error instanceof Error ? error.message : String(error)}`,
      error instanceof Error ? error.stack : undefined,
    );
  }
}
