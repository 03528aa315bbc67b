import { Logger } from '@nestjs/common';
import amqplib from 'amqplib';
import rhea, { type EventContext, type Sender } from 'rhea';
import { createMessage, type Message } from 'nestjs-messaging';
import { AMQP_ADDRESS, AmqpMessenger } from 'nestjs-messaging/amqp';
import { toAmqpMessage } from '../lib/messengers/amqp/amqp-message.mapper.js';

/** The broker the AMQP benchmarks send to. */
export const URL = process.env.BENCH_AMQP_URL ?? 'amqp://127.0.0.1:5672';
const QUEUE = 'nestjs-messaging-bench';
/** Topic, routing key and address of every benchmark message. */
export const ROUTING_KEY = 'bench.amqp';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Empties the durable queue the benchmark's messages are routed to. */
export async function resetQueue(): Promise<void> {
  const connection = await amqplib.connect(URL.replace('amqp://', 'amqp://guest:guest@'));
  const channel = await connection.createChannel();
  await channel.assertQueue(QUEUE, { durable: true });
  await channel.bindQueue(QUEUE, 'amq.topic', ROUTING_KEY);
  // Benchmarks that spread messages over topics use bench.amqp.<n>.
  await channel.bindQueue(QUEUE, 'amq.topic', `${ROUTING_KEY}.*`);
  await channel.purgeQueue(QUEUE);
  await connection.close();
}

/** `count` compose messages like PDC's, on one topic or spread round-robin over `topics` (bench.amqp.<n>). */
export function messages(count: number, topics = 1): Message[] {
  return Array.from({ length: count }, (_, n) =>
    createMessage(topics === 1 ? ROUTING_KEY : `${ROUTING_KEY}.${String(n % topics)}`, {
      action: 'create',
      compose_id: `Fedora-41-20261128.n.${n}`,
      compose_type: 'nightly',
      compose_respin: n,
      new_value: { compose_id: `Fedora-41-20261128.n.${n}`, release: 'fedora-41' },
      author: 'alice',
      comment: null,
    }),
  );
}

/** Raw rhea: one sender, the same AMQP messages, each batch awaited until every message is accepted. */
export async function rawRheaRate(batches: readonly Message[][]): Promise<number> {
  const url = new globalThis.URL(URL);
  const connection = rhea.create_container().connect({
    host: url.hostname,
    port: Number(url.port),
    username: 'guest',
    password: 'guest',
    reconnect: false,
  });
  const sender: Sender = connection.open_sender({ target: { address: `/topic/${ROUTING_KEY}` } });
  await new Promise((resolve) => sender.once('sendable', resolve));
  // Pre-mapped, so the raw figure has no mapping cost in it.
  const mapped = batches.map((batch) => batch.map((message) => toAmqpMessage(message)));
  let waiting = 0;
  let release: (() => void) | undefined;
  sender.on('accepted', (_context: EventContext) => {
    if (--waiting === 0) release?.();
  });
  const started = performance.now();
  for (const batch of mapped) {
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    waiting = batch.length;
    for (const message of batch) sender.send(message);
    await done;
  }
  const seconds = (performance.now() - started) / 1000;
  connection.close();
  return batches.flat().length / seconds;
}

async function messengerRate(batches: readonly Message[][]): Promise<number> {
  const messenger = new AmqpMessenger({
    urls: [URL],
    username: 'guest',
    password: 'guest',
    address: AMQP_ADDRESS.rabbitmq3,
  });
  await messenger.onModuleInit();
  await messenger.send(messages(1)); // connection and link up, as they are in a running app
  const started = performance.now();
  for (const batch of batches) await messenger.send(batch);
  const seconds = (performance.now() - started) / 1000;
  await messenger.onApplicationShutdown();
  return batches.flat().length / seconds;
}

export function split(all: readonly Message[], size: number): Message[][] {
  const batches: Message[][] = [];
  for (let index = 0; index < all.length; index += size) batches.push(all.slice(index, index + size));
  return batches;
}

/** Prints AmqpMessenger's delivery rate against raw rhea, batches of 1 and of 50. */
export async function runAmqpBenchmark(): Promise<void> {
  Logger.overrideLogger(['error']);
  console.log(
    `\nAMQP 1.0 to RabbitMQ (${URL}, /topic/${ROUTING_KEY} into one durable queue), durable, awaiting acceptance`,
  );
  for (const [size, count] of [
    [1, Number(process.env.BENCH_AMQP_SINGLES ?? 2000)],
    [50, Number(process.env.BENCH_AMQP_MESSAGES ?? 20_000)],
  ] as const) {
    const batches = split(messages(count), size);
    await resetQueue();
    await rawRheaRate(split(messages(Math.min(count, 500)), size)); // warm-up
    const raws: number[] = [];
    const messengers: number[] = [];
    // Interleaved rounds, median of each: the broker's disk makes single runs vary.
    for (let round = 0; round < ROUNDS; round++) {
      await resetQueue();
      raws.push(await rawRheaRate(batches));
      await resetQueue();
      messengers.push(await messengerRate(batches));
    }
    await resetQueue();
    const raw = median(raws);
    const ours = median(messengers);
    console.log(
      `  batches of ${String(size).padEnd(2)}  raw rhea ${raw.toFixed(0).padStart(6)} msg/s   AmqpMessenger ${ours.toFixed(0).padStart(6)} msg/s   ratio ${(ours / raw).toFixed(2)}`,
    );
  }
}
