import { Logger } from '@nestjs/common';
import amqplib from 'amqplib';
import type { Message } from 'nestjs-messaging';
import { FedoraMessagingMessenger, sentAt, toFedoraMessagingPublish } from 'nestjs-messaging/fedora-messaging';
import { messages, split, URL } from './amqp-bench.js';

const QUEUE = 'nestjs-messaging-bench-fedora-messaging';
/** Every benchmark message's routing key (the messages' topic `bench.amqp` under this prefix). */
const PREFIX = 'org.bench.prod';
const ROUTING_KEY = `${PREFIX}.bench.amqp`;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WITH_GUEST = URL.replace('amqp://', 'amqp://guest:guest@');

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Messages per second, and this process's CPU time (user + system) per message in µs: steadier on a shared machine. */
interface Rate {
  readonly perSecond: number;
  readonly cpuPerMessage: number;
}

/** Times `run`, which sends `count` messages. */
async function timed(count: number, run: () => Promise<void>): Promise<Rate> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { perSecond: count / seconds, cpuPerMessage: (used.user + used.system) / count };
}

/** Empties the durable queue bound to amq.topic that the benchmark's messages are routed to. */
async function resetQueue(): Promise<void> {
  const connection = await amqplib.connect(WITH_GUEST);
  const channel = await connection.createChannel();
  await channel.assertQueue(QUEUE, { durable: true });
  await channel.bindQueue(QUEUE, 'amq.topic', ROUTING_KEY);
  await channel.purgeQueue(QUEUE);
  await connection.close();
}

/**
 * Raw amqplib doing the same: one confirm channel, the same routing key,
 * properties and headers (pre-mapped, so the raw figure has no mapping cost),
 * persistent and mandatory, the socket without Nagle's delay as the messenger's, each batch awaited until the broker confirmed
 * every message.
 */
async function rawAmqplibRate(batches: readonly Message[][]): Promise<Rate> {
  const connection = await amqplib.connect(WITH_GUEST, { noDelay: true }); // as the messenger's socket
  const channel = await connection.createConfirmChannel();
  const settings = { topicPrefix: PREFIX, schema: 'base.message', severity: 20 as const };
  const mapped = batches.map((batch) =>
    batch.map((message) => {
      const publish = toFedoraMessagingPublish(message, settings, sentAt(new Date()));
      if ('invalid' in publish) throw new Error(publish.invalid);
      return publish;
    }),
  );
  const rate = await timed(batches.flat().length, async () => {
    for (const batch of mapped) {
      await Promise.all(
        batch.map(
          ({ routingKey, content, properties }) =>
            new Promise<void>((resolve, reject) => {
              channel.publish('amq.topic', routingKey, content, { ...properties, mandatory: true }, (error) => {
                if (error) reject(error as Error);
                else resolve();
              });
            }),
        ),
      );
    }
  });
  await connection.close();
  return rate;
}

async function messengerRate(batches: readonly Message[][]): Promise<Rate> {
  const messenger = new FedoraMessagingMessenger({ urls: [WITH_GUEST], app: 'bench', topicPrefix: PREFIX });
  await messenger.onModuleInit();
  await messenger.send(messages(1)); // connection and channel up, as they are in a running app
  const rate = await timed(batches.flat().length, async () => {
    for (const batch of batches) await messenger.send(batch);
  });
  await messenger.onApplicationShutdown();
  return rate;
}

/** Prints FedoraMessagingMessenger's delivery rate against raw amqplib on a confirm channel, batches of 1 and of 50. */
export async function runFedoraMessagingBenchmark(): Promise<void> {
  Logger.overrideLogger(['error']);
  console.log(
    `\nfedora-messaging (AMQP 0-9-1) to RabbitMQ (${URL}, amq.topic ${ROUTING_KEY} into one durable queue), persistent, mandatory, awaiting confirms`,
  );
  for (const [size, count] of [
    [1, Number(process.env.BENCH_AMQP_SINGLES ?? 2000)],
    [50, Number(process.env.BENCH_AMQP_MESSAGES ?? 20_000)],
  ] as const) {
    const batches = split(messages(count), size);
    await resetQueue();
    await rawAmqplibRate(split(messages(Math.min(count, 500)), size)); // warm-up
    const raws: Rate[] = [];
    const messengers: Rate[] = [];
    // Interleaved rounds, median of each: the broker's disk makes single runs vary.
    for (let round = 0; round < ROUNDS; round++) {
      await resetQueue();
      raws.push(await rawAmqplibRate(batches));
      await resetQueue();
      messengers.push(await messengerRate(batches));
    }
    await resetQueue();
    const raw = median(raws.map(({ perSecond }) => perSecond));
    const ours = median(messengers.map(({ perSecond }) => perSecond));
    const rawCpu = median(raws.map(({ cpuPerMessage }) => cpuPerMessage));
    const ourCpu = median(messengers.map(({ cpuPerMessage }) => cpuPerMessage));
    console.log(
      `  batches of ${String(size).padEnd(2)}  raw amqplib ${raw.toFixed(0).padStart(6)} msg/s   FedoraMessagingMessenger ${ours.toFixed(0).padStart(6)} msg/s   ratio ${(ours / raw).toFixed(2)}   ` +
        `client CPU ${rawCpu.toFixed(0)} vs ${ourCpu.toFixed(0)} µs/message (raw pre-maps its messages)`,
    );
  }
}
