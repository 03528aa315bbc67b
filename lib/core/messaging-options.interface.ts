import type { ExecutionContext, InjectionToken, Type } from '@nestjs/common';
import type { Messenger } from '../messengers/messenger.interface.js';
import type { JsonObject } from './message.interface.js';

/** A factory that builds the messenger, with its dependencies injected. */
export interface MessengerFactory {
  /** Builds the messenger; may be async (connect first, for example). */
  useFactory: (...dependencies: never[]) => Messenger | Promise<Messenger>;
  /** Tokens resolved anywhere in the application and passed to `useFactory`. Default: none. */
  inject?: InjectionToken[];
}

/**
 * How to obtain the messenger: a class (instantiated with dependency
 * injection), a factory, or a ready instance.
 */
export type MessengerOption = Type<Messenger> | MessengerFactory | Messenger;

/**
 * Returns the fields added to every message body of a request before it is
 * sent. Keys already present in a body are kept as the handler set them.
 */
export type MessageEnricher = (context: ExecutionContext) => Readonly<JsonObject>;

/**
 * When a successful request's response is sent relative to its messages:
 * - `background`: right away; the messenger sends meanwhile (PDC's behaviour).
 * - `await`: after the messenger's `send()` settled, success or failure.
 */
export type DeliveryMode = 'background' | 'await';

/** Options of `MessagingModule.forRoot()` / `forRootAsync()`. */
export interface MessagingModuleOptions {
  /**
   * The messenger that sends each successful request's messages.
   * Default: `LoggingMessenger`, which logs them at debug level and sends nothing.
   */
  messenger?: MessengerOption;
  /**
   * Whether the response waits for the messenger. `background` keeps broker
   * latency out of response times; `await` makes a 2xx response mean the
   * messenger's `send()` has finished (it still never turns a response into
   * an error). Default: `background`.
   */
  delivery?: DeliveryMode;
  /**
   * On application shutdown, how long to wait for background sends still in
   * flight before messengers close. Default: `10000` ms.
   */
  shutdownTimeoutMs?: number;
  /**
   * Fields added to every message of a request, or `false` to add none.
   * Default: `author` (from `request.user`, see `authorOf`) and `comment`
   * (from the `commentHeader` request header, `null` when absent), as PDC does.
   */
  enrich?: MessageEnricher | false;
  /** Request header whose value becomes `comment`. Default: `PDC-Change-Comment`. */
  commentHeader?: string;
  /**
   * Reads the author's name from the request.
   * Default: `request.user.username`, or `''` for an anonymous request.
   */
  authorOf?: (request: unknown) => string;
}
