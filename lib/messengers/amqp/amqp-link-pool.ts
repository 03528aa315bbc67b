import type { OpenConnection } from './amqp-connect.js';
import type { AmqpLog } from './amqp-connection-keeper.js';
import type { ResolvedAmqpOptions } from './amqp-options.interface.js';
import type { Failure } from './amqp-link.interface.js';
import { amqpValueBody, type AmqpBodyEncoder } from './amqp-message.mapper.js';
import { AmqpSenderLink } from './amqp-sender-link.js';
import type { AmqpAddressRefusal } from './amqp-state.js';

/**
 * No link to send on: `maxLinks` links are open and busy (`link-limit`), or
 * the broker refused the address and it is not to be tried before `retryAt`.
 */
export interface NoLink {
  readonly outcome: 'link-limit' | 'address-refused';
  readonly condition?: string;
  readonly description: string;
  readonly retryAt?: number;
}

/**
 * The open sender links, one per address (each on a session of its own).
 * A link unused for `idleLinkTimeoutMs` is closed with its session, and at
 * most `maxLinks` are open (fewer if the broker's `channel-max` says so):
 * above that, the least recently used idle link is closed first. An address
 * the broker refuses for a configuration reason (`amqp:not-found`,
 * `amqp:unauthorized-access`...) is logged once at error level, listed in
 * `refused`, and attached again no sooner than `reconnectDelayMaxMs` later;
 * meanwhile its messages fail at once as `address-refused` (not retryable:
 * delivery declares them dead, reason `rejected`).
 */
export class AmqpLinkPool {
  private readonly links = new Map<string, AmqpSenderLink>();
  private readonly lastUsed = new Map<AmqpSenderLink, number>();
  private readonly refusals = new Map<string, AmqpAddressRefusal>();
  private refusedList: readonly AmqpAddressRefusal[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  private encodeBody: AmqpBodyEncoder = amqpValueBody;

  constructor(
    private readonly options: ResolvedAmqpOptions,
    private readonly logger: AmqpLog,
    /** Called when a link attaches. */
    private readonly onAttached: () => void,
  ) {}

  /**
   * Starts closing idle links: between `idleLinkTimeoutMs` and 1.5 × that after their last use.
   * `encodeBody` (built once rhea is loaded) puts each message's JSON in the body section configured.
   */
  start(encodeBody: AmqpBodyEncoder): void {
    this.encodeBody = encodeBody;
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

  /** The addresses the broker refuses, oldest refusal first; a new array on each change. */
  get refused(): readonly AmqpAddressRefusal[] {
    return this.refusedList;
  }

  /** Number of links open. */
  get size(): number {
    return this.links.size;
  }

  /**
   * The link to `address`, attaching a new one when there is none or the
   * broker ended it; a `link-limit` failure when `maxLinks` links are open and busy. `now`: Date.now().
   */
  linkFor(open: OpenConnection, address: string, now: number): AmqpSenderLink | NoLink {
    let link = this.links.get(address);
    if (link === undefined || !link.usable) {
      const refusal = this.refusals.get(address);
      if (refusal !== undefined && now < refusal.retryAt) {
        const { condition, description, retryAt } = refusal;
        return { outcome: 'address-refused', condition, description, retryAt };
      }
      if (link) this.drop(address, link);
      const limit = this.makeRoom(open);
      if (limit !== undefined) {
        return {
          outcome: 'link-limit',
          description: `${limit} links are open (maxLinks, or the broker's channel-max), each with messages in flight; raise maxLinks or send to fewer addresses at once`,
        };
      }
      link = new AmqpSenderLink(open.connection, address, this.options.sendTimeoutMs, this.encodeBody, (failure) => {
        this.refuse(address, failure);
      });
      this.links.set(address, link);
      void link.ready.then((refused) => {
        if (refused === undefined) {
          this.accepted(address);
          this.onAttached();
        }
      });
    }
    this.lastUsed.set(link, now);
    return link;
  }

  /** When messages to `address` are sent again, in ms since the epoch, if the broker refused it. */
  retryAt(address: string): number | undefined {
    return this.refusals.get(address)?.retryAt;
  }

  private refuse(address: string, { condition, description }: Failure): void {
    const before = this.refusals.get(address);
    const now = Date.now();
    const retryAt = now + this.options.reconnectDelayMaxMs;
    const same = before !== undefined && before.condition === condition && before.description === description;
    this.refusals.set(address, {
      address,
      condition,
      description,
      since: same ? before.since : new Date(now),
      retryAt,
    });
    this.refusedList = [...this.refusals.values()];
    // Once at error level; again only when the broker says something else.
    if (same) {
      this.logger.debug(`The AMQP broker still refuses address ${address}: ${condition ?? ''}: ${description}`);
      return;
    }
    this.logger.error(
      `The AMQP broker refused a link to address ${address}: ${condition ?? ''}: ${description}; check the address template ` +
        `and the broker's exchanges and permissions. Its messages are declared dead (reason rejected; make them pending again ` +
        `with OutboxAdmin.requeue or "npx nestjs-messaging outbox requeue" once fixed); the address is attached again no sooner than ` +
        `${this.options.reconnectDelayMaxMs} ms from now`,
    );
  }

  private accepted(address: string): void {
    if (!this.refusals.delete(address)) return;
    this.refusedList = [...this.refusals.values()];
    this.logger.log(`The AMQP broker accepts address ${address} again`);
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
