import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import amqplib from 'amqplib';
import rhea, { type Connection, type EventContext, type Message as RheaMessage } from 'rhea';

/** What test/brokers/setup.sh started, as it wrote it down. */
export interface Brokers {
  readonly shared: { readonly url: string; readonly username: string; readonly password: string };
  readonly postgres: { readonly url: string };
  /** MariaDB (or MySQL): `mysql://root@127.0.0.1:3306/<the tests' database>`. */
  readonly mysql: { readonly url: string };
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

const NODE_LOCK = join(import.meta.dirname, '../../.test-brokers/project-node.lock');

/**
 * Takes the project-owned node for one test file: tests that stop, restart or
 * reconfigure it must not overlap when Jest runs files in parallel. A lock
 * left by a process that died is taken over. Returns the release function.
 */
export async function lockProjectNode(): Promise<() => void> {
  for (;;) {
    try {
      mkdirSync(NODE_LOCK);
      writeFileSync(join(NODE_LOCK, 'pid'), String(process.pid));
      return () => {
        rmSync(NODE_LOCK, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!isAlive(Number(readIfExists(join(NODE_LOCK, 'pid'))))) rmSync(NODE_LOCK, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function readIfExists(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true; // Being written right now.
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops or starts the project-owned node (never the machine's shared one), without blocking the event loop. */
export async function projectNode(action: 'start' | 'stop'): Promise<void> {
  await promisify(execFile)('bash', [brokers().project.control, action]);
}

/** Evaluates an Erlang expression on the project-owned node, for settings one test changes and restores. */
export async function projectNodeEval(expression: string): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [brokers().project.control, 'eval', expression]);
  return stdout.trim();
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

/** An AMQP 1.0 connection for reading test queues, as guest, without reconnecting. */
function connectConsumer(brokerUrl: string): Connection {
  const url = new URL(brokerUrl);
  return rhea.create_container({ id: `test-consumer-${String(Date.now())}` }).connect({
    host: url.hostname,
    port: Number(url.port),
    username: 'guest',
    password: 'guest',
    reconnect: false,
  });
}

/** Reads a queue over AMQP 1.0 until `count` messages arrived or `timeoutMs` passed. */
export async function consume(
  brokerUrl: string,
  queue: string,
  count: number,
  timeoutMs = 10_000,
): Promise<RheaMessage[]> {
  return consumeUntil(brokerUrl, queue, (received) => received.length >= count, `${String(count)} messages`, timeoutMs);
}

/**
 * Reads a queue over AMQP 1.0 until `done(received)` holds (checked as each message arrives, and
 * at the start), then 200 ms longer to catch messages beyond it; rejects after `timeoutMs`,
 * naming `what` was awaited (a function of what arrived, to name what is missing). For waits where a count is not enough: at-least-once delivery may
 * bring duplicates and messages whose request never got its answer.
 */
export async function consumeUntil(
  brokerUrl: string,
  queue: string,
  done: (received: readonly RheaMessage[]) => boolean,
  what: string | ((received: readonly RheaMessage[]) => string),
  timeoutMs = 10_000,
): Promise<RheaMessage[]> {
  const connection = connectConsumer(brokerUrl);
  const received: RheaMessage[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = false;
      const timer = setTimeout(() => {
        reject(
          new Error(
            `received ${String(received.length)} messages from ${queue} but not ${typeof what === 'string' ? what : what(received)} within ${String(timeoutMs)} ms`,
          ),
        );
      }, timeoutMs);
      const check = (): void => {
        if (finished || !done(received)) return;
        finished = true;
        clearTimeout(timer);
        setTimeout(resolve, received.length === 0 ? 300 : 200);
      };
      connection.on('disconnected', (context: EventContext) => {
        clearTimeout(timer);
        reject(context.error ?? new Error('consumer disconnected'));
      });
      const receiver = connection.open_receiver({ source: { address: `/amq/queue/${queue}` } });
      receiver.on('message', (context: EventContext) => {
        received.push(context.message!);
        check();
      });
      check();
    });
  } finally {
    connection.removeAllListeners('disconnected');
    connection.close();
  }
  return received;
}

/** Reads a queue over AMQP 1.0 until no message arrived for `idleMs` (after the first), or `timeoutMs` passed. */
export async function consumeUntilIdle(
  brokerUrl: string,
  queue: string,
  idleMs = 2000,
  timeoutMs = 120_000,
): Promise<RheaMessage[]> {
  const connection = connectConsumer(brokerUrl);
  const received: RheaMessage[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let idle: NodeJS.Timeout = setTimeout(resolve, idleMs);
      const deadline = setTimeout(() => {
        clearTimeout(idle);
        reject(new Error(`${queue} still delivering after ${timeoutMs} ms (${received.length} messages)`));
      }, timeoutMs);
      connection.on('disconnected', (context: EventContext) => {
        clearTimeout(idle);
        clearTimeout(deadline);
        reject(context.error ?? new Error('consumer disconnected'));
      });
      const receiver = connection.open_receiver({ source: { address: `/amq/queue/${queue}` }, credit_window: 500 });
      receiver.on('message', (context: EventContext) => {
        received.push(context.message!);
        clearTimeout(idle);
        idle = setTimeout(() => {
          clearTimeout(deadline);
          resolve();
        }, idleMs);
      });
    });
  } finally {
    connection.removeAllListeners('disconnected');
    connection.close();
  }
  return received;
}
