import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import amqplib from 'amqplib';
import rhea, { type Connection, type EventContext, type Message as RheaMessage } from 'rhea';

/** What test/brokers/setup.sh started, as it wrote it down. */
export interface Brokers {
  readonly shared: { readonly url: string; readonly username: string; readonly password: string };
  readonly project: {
    readonly url: string;
    readonly tlsUrl: string;
    readonly username: string;
    readonly password: string;
    readonly control: string;
    readonly pki: {
      readonly ca: string;
      readonly clientCertificate: string;
      readonly clientKey: string;
      readonly clientCombined: string;
      readonly otherCa: string;
    };
  };
}

const BROKERS_JSON = join(import.meta.dirname, '../../.test-brokers/brokers.json');

/** The brokers, or a failure saying how to start them: a missing broker never skips a test. */
export function brokers(): Brokers {
  if (!existsSync(BROKERS_JSON)) {
    throw new Error(
      `${BROKERS_JSON} is missing: run "npm test" (it starts the brokers) or "bash test/brokers/setup.sh"`,
    );
  }
  return JSON.parse(readFileSync(BROKERS_JSON, 'utf8')) as Brokers;
}

/** Stops or starts the project-owned node (never the machine's shared one), without blocking the event loop. */
export async function projectNode(action: 'start' | 'stop'): Promise<void> {
  await promisify(execFile)('bash', [brokers().project.control, action]);
}

/**
 * Declares a durable queue bound to amq.topic with `routingKey` (RabbitMQ's
 * equivalent of an ActiveMQ virtual-topic consumer queue), emptied.
 */
export async function declareTopicQueue(brokerUrl: string, queue: string, routingKey: string): Promise<void> {
  const url = new URL(brokerUrl);
  const connection = await amqplib.connect(`amqp://guest:guest@${url.hostname}:${url.port}`);
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, 'amq.topic', routingKey);
    await channel.purgeQueue(queue);
  } finally {
    await connection.close();
  }
}

/** Reads a queue over AMQP 1.0 until `count` messages arrived or `timeoutMs` passed. */
export async function consume(
  brokerUrl: string,
  queue: string,
  count: number,
  timeoutMs = 10_000,
): Promise<RheaMessage[]> {
  const url = new URL(brokerUrl);
  const container = rhea.create_container({ id: `test-consumer-${Date.now()}` });
  const connection: Connection = container.connect({
    host: url.hostname,
    port: Number(url.port),
    username: 'guest',
    password: 'guest',
    reconnect: false,
  });
  const received: RheaMessage[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`received ${received.length} of ${count} messages from ${queue} within ${timeoutMs} ms`));
      }, timeoutMs);
      if (count === 0) {
        clearTimeout(timer);
        setTimeout(resolve, 300);
      }
      connection.on('disconnected', (context: EventContext) => {
        clearTimeout(timer);
        reject(context.error ?? new Error('consumer disconnected'));
      });
      const receiver = connection.open_receiver({ source: { address: `/amq/queue/${queue}` } });
      receiver.on('message', (context: EventContext) => {
        received.push(context.message!);
        if (received.length === count) {
          clearTimeout(timer);
          // A little longer, to catch messages beyond the expected count.
          setTimeout(resolve, 200);
        }
      });
    });
  } finally {
    connection.removeAllListeners('disconnected');
    connection.close();
  }
  return received;
}
