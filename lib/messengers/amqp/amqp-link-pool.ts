import type { OpenConnection } from './amqp-connect.js';
import type { AmqpLog } from './amqp-connection-keeper.js';
import type { ResolvedAmqpOptions } from './amqp-options.interface.js';
import { AmqpSenderLink } from './amqp-sender-link.js';
import { linkConditionKind } from './amqp-condition.js';

/** No link could be opened: `maxLinks` links are open and busy. */
export interface LinkLimitReached {
  readonly outcome: 'link-limit';
  readonly description: string;
}

/**
 * The open sender links, one per address (each on a session of its own).
 * A link unused for `idleLinkTimeoutMs` is closed with its session, and at
 * most `maxLinks` are open (fewer if the broker's `channel-max` says so):
 * above that, the least recently used idle link is closed first. A refusal
 * of an address for a configuration reason is logged once at error level.
 */
export class AmqpLinkPool {
  private readonly links = new Map<string, AmqpSenderLink>();
  private readonly lastUsed = new Map<AmqpSenderLink, number>();
  private readonly loggedRefusals = new Map<string, string>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: ResolvedAmqpOptions,
    private readonly logger: AmqpLog,
    /** Called when a link attaches. */
    private readonly onAttached: () => void,
  ) {}

  /** Starts closing idle links: between `idleLinkTimeoutMs` and 1.5 × that after their last use. */
  start(): void {
    const { idleLinkTimeoutMs } = this.options;
    this.sweeper ??= setInterval(
      () => {
        this.closeIdle(Date.now() - idleLinkTimeoutMs);
      },
      Math.ceil(idleLinkTimeoutMs / 2),
    );
    // It never keeps the process alive on its own.
    this.sweeper.unref();
  }

  /** Number of links open. */
  get size(): number {
    return this.links.size;
  }

  /**
   * The link to `address`, attaching a new one when there is none or the
   * broker ended it; a `link-limit` failure when `maxLinks` links are open and busy. `now`: Date.now().
   */
  linkFor(open: OpenConnection, address: string, now: number): AmqpSenderLink | LinkLimitReached {
    let link = this.links.get(address);
    if (link === undefined || !link.usable) {
      if (link) this.drop(address, link);
      const limit = this.makeRoom(open);
      if (limit !== undefined) {
        return {
          outcome: 'link-limit',
          description: `${limit} links are open (maxLinks, or the broker's channel-max), each with messages in flight; raise maxLinks or send to fewer addresses at once`,
        };
      }
      link = new AmqpSenderLink(open.connection, address, this.options.sendTimeoutMs);
      this.links.set(address, link);
      void link.ready.then((refused) => {
        if (refused === undefined) {
          this.loggedRefusals.delete(address);
          this.onAttached();
        } else if (linkConditionKind(refused.condition) === 'configuration') {
          const text = `${refused.condition}: ${refused.description}`;
          if (this.loggedRefusals.get(address) !== text) {
            this.logger.error(
              `The AMQP broker refused a link to address ${address}: ${text}; check the address template and the broker's permissions`,
            );
            this.loggedRefusals.set(address, text);
          }
        }
      });
    }
    this.lastUsed.set(link, now);
    return link;
  }

  /** The connection is gone: every link fails what it has in flight. */
  loseAll(description: string): void {
    for (const link of this.links.values()) link.lose(description);
    this.links.clear();
    this.lastUsed.clear();
  }

  /** Closes every link, and stops closing idle ones. */
  closeAll(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const [address, link] of this.links) this.drop(address, link);
  }

  /** Closes the links last used before `before` (ms since the epoch) that have nothing in flight. */
  closeIdle(before: number): void {
    for (const [address, link] of this.links) {
      if ((this.lastUsed.get(link) ?? 0) < before && link.idle) {
        this.logger.debug(`Closing the idle link to ${address}`);
        this.drop(address, link);
      }
    }
  }

  /** Closes the least recently used idle link when the limit is reached; the limit when none is idle. */
  private makeRoom(open: OpenConnection): number | undefined {
    // A broker's channel-max limits the sessions of a connection: each link has one.
    const channelMax = (open.connection as unknown as { channel_max?: number | null }).channel_max;
    const limit = Math.min(this.options.maxLinks, typeof channelMax === 'number' ? channelMax + 1 : Infinity);
    if (this.links.size < limit) return undefined;
    let oldest: [string, AmqpSenderLink] | undefined;
    for (const entry of this.links) {
      const lastUsed = this.lastUsed.get(entry[1]) ?? 0;
      if (entry[1].idle && (oldest === undefined || lastUsed < (this.lastUsed.get(oldest[1]) ?? 0))) oldest = entry;
    }
    if (oldest === undefined) return limit;
    this.drop(...oldest);
    return undefined;
  }

  private drop(address: string, link: AmqpSenderLink): void {
    link.close();
    this.lastUsed.delete(link);
    if (this.links.get(address) === link) this.links.delete(address);
  }
}
