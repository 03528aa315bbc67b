import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import rhea, { type Delivery, type EventContext, type Message as RheaMessage } from 'rhea';

/** A message as the test broker received it. */
export interface Received {
  readonly address: string;
  readonly message: RheaMessage;
  readonly delivery: Delivery;
  /** Which receiver link (attach) it came on, counted from 1. */
  readonly link: number;
}

/**
 * How the test broker answers each message: settle it, leave it ('ignore'),
 * or leave it unsettled and end its session over it ('end-session', with
 * amqp:precondition-failed; 'end-session-quietly', without an error), detach
 * its link ('detach', without an error; 'detach-forced', with
 * amqp:link:detach-forced) or close the connection ('close-connection',
 * with amqp:connection:forced).
 */
export type Disposition =
  | 'accept'
  | 'reject'
  | 'release'
  | 'modify'
  | 'ignore'
  | 'end-session'
  | 'end-session-quietly'
  | 'detach'
  | 'detach-forced'
  | 'close-connection';

/**
 * An AMQP 1.0 peer in the test process (rhea's server side) on port 0: it
 * records links and messages and settles each as the test says, so link
 * handling and property mapping are tested without a real broker.
 */
export class AmqpTestListener {
  readonly received: Received[] = [];
  readonly attaches: string[] = [];
  /** Addresses whose attach is refused with amqp:not-found. */
  readonly unknownAddresses = new Set<string>();
  decide: (received: Received) => Disposition = () => 'accept';
  /** Sessions the peer has begun and not ended. */
  openSessions = 0;
  /** Links and sessions this broker closed whose close the peer has answered. */
  closesAnswered = 0;
  /** Delay before settling, in ms. */
  settleDelayMs = 0;
  private lastSettleAt = 0;
  private server: Server | undefined;
  // autoaccept off: each message is settled as `decide` says.
  private readonly container = rhea.create_container({ id: 'test-listener', autoaccept: false });

  async start(): Promise<string> {
    this.container.on('receiver_open', (context: EventContext) => {
      const receiver = context.receiver!;
      const address =
        (receiver as unknown as { remote: { attach?: { target?: { address?: string } } } }).remote.attach?.target
          ?.address ?? '';
      this.attaches.push(address);
      if (this.unknownAddresses.has(address)) {
        receiver.close({ condition: 'amqp:not-found', description: `no such address: ${address}` });
        return;
      }
      receiver.set_target({ address });
      (receiver as unknown as { linkNumber: number }).linkNumber = this.attaches.length;
    });
    this.container.on('session_open', () => {
      this.openSessions++;
    });
    this.container.on('session_close', () => {
      this.openSessions--;
    });
    // The peer's answer to a detach or end this broker sent (rhea reports it as a local close completing).
    for (const event of ['receiver_close', 'session_close'] as const) {
      this.container.on(event, (context: EventContext) => {
        const endpoint = event === 'receiver_close' ? context.receiver : context.session;
        if (endpoint?.is_closed()) this.closesAnswered++;
      });
    }
    this.container.on('message', (context: EventContext) => {
      const receiver = context.receiver!;
      const received: Received = {
        address: (receiver.target as { address: string }).address,
        message: context.message!,
        delivery: context.delivery!,
        link: (receiver as unknown as { linkNumber: number }).linkNumber,
      };
      this.received.push(received);
      const settle = (): void => {
        switch (this.decide(received)) {
          case 'accept':
            received.delivery.accept();
            break;
          case 'reject':
            received.delivery.reject({ condition: 'amqp:precondition-failed', description: 'test broker says no' });
            break;
          case 'release':
            received.delivery.release();
            break;
          case 'modify':
            received.delivery.modified({ delivery_failed: true });
            break;
          case 'ignore':
            break;
          case 'end-session':
            // What RabbitMQ 3 does to a message above its max_message_size.
            received.delivery.link.session.close({
              condition: 'amqp:precondition-failed',
              description: 'message size 10008 is larger than configured max size 4096',
            });
            break;
          case 'end-session-quietly':
            received.delivery.link.session.close();
            break;
          case 'detach':
            received.delivery.link.close();
            break;
          case 'detach-forced':
            received.delivery.link.close({ condition: 'amqp:link:detach-forced', description: 'idle timeout (test)' });
            break;
          case 'close-connection':
            received.delivery.link.connection.close({
              condition: 'amqp:connection:forced',
              description: 'broker forced connection closure with reason shutdown (test)',
            });
            break;
        }
      };
      // One disposition per tick: rhea's receiver merges adjacent settlements
      // written together into one range with the first one's outcome.
      const at = Math.max(Date.now() + this.settleDelayMs, this.lastSettleAt + 3);
      this.lastSettleAt = at;
      setTimeout(settle, at - Date.now());
    });
    this.container.on('error', () => undefined);
    this.container.on('disconnected', () => undefined);
    this.server = this.container.listen({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => this.server!.once('listening', resolve));
    return `amqp://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => {
        resolve();
      });
      (this.server as unknown as { connections?: Socket[] } | undefined)?.connections?.forEach((socket) =>
        socket.destroy(),
      );
    });
  }
}

/** A TCP port that accepts connections and never says a word: a broker that does not answer. */
export async function silentPort(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `amqp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** A port with nothing listening. */
export async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return `amqp://127.0.0.1:${port}`;
}
