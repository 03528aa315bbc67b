import { Logger } from '@nestjs/common';
import { Publisher, Subscriber } from 'zeromq';
import { createMessage, type Message } from 'nestjs-messaging';
import { FedmsgMessenger } from 'nestjs-messaging/fedmsg';
import { createTestPki } from '../test/support/test-pki.js';
import { nextEvent } from '../test/support/zmq-events.js';

const BATCH = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** A SUB socket that resolves once `count` messages have arrived. */
async function countArrivals(endpoint: string, count: number): Promise<{ done: Promise<void>; close: () => void }> {
  const subscriber = new Subscriber({ linger: 0, receiveHighWaterMark: 0 });
  const connected = nextEvent(subscriber, 'handshake');
  subscriber.connect(endpoint);
  subscriber.subscribe();
  await connected;
  await new Promise((resolve) => setTimeout(resolve, 100)); // the subscription reaches the publisher
  const done = (async () => {
    for (let received = 0; received < count; received++) await subscriber.receive();
  })();
  return {
    done,
    close: () => {
      subscriber.close();
    },
  };
}

function messages(count: number): Message[] {
  return Array.from({ length: count }, (_, n) =>
    createMessage('.compose', {
      action: 'create',
      compose_id: `Fedora-41-20261128.n.${n}`,
      compose_type: 'nightly',
      compose_respin: n,
      author: 'alice',
      comment: null,
    }),
  );
}

/** Raw zeromq: a PUB socket sending pre-serialised frames, the ceiling for any fedmsg publisher. */
async function rawRate(frames: readonly [string, string][]): Promise<number> {
  const publisher = new Publisher({ linger: 0, sendHighWaterMark: 0 });
  await publisher.bind('tcp://127.0.0.1:*');
  const counter = await countArrivals(publisher.lastEndpoint ?? '', frames.length);
  const started = performance.now();
  for (const frame of frames) await publisher.send(frame);
  await counter.done;
  const rate = frames.length / ((performance.now() - started) / 1000);
  counter.close();
  publisher.close();
  return rate;
}

async function messengerRate(
  batch: readonly Message[],
  sign?: { certificate: string; privateKey: string },
): Promise<number> {
  const messenger = new FedmsgMessenger({ endpoints: ['tcp://127.0.0.1:*'], joinTimeoutMs: 0, sign });
  await messenger.onModuleInit();
  const counter = await countArrivals(messenger.endpoint ?? '', batch.length);
  const started = performance.now();
  for (let index = 0; index < batch.length; index += BATCH) await messenger.send(batch.slice(index, index + BATCH));
  await counter.done;
  const rate = batch.length / ((performance.now() - started) / 1000);
  counter.close();
  await messenger.onApplicationShutdown();
  return rate;
}

/** Prints FedmsgMessenger's throughput against raw zeromq, unsigned and signed. */
export async function runFedmsgBenchmark(): Promise<void> {
  Logger.overrideLogger(['error']);
  const unsignedCount = Number(process.env.BENCH_FEDMSG_MESSAGES ?? 50_000);
  const signedCount = Math.min(unsignedCount, 10_000);
  const batch = messages(unsignedCount);
  // The same bytes the messenger sends, serialised up front.
  const frames = batch.map((message, index): [string, string] => [
    'org.fedoraproject.dev.pdc.compose',
    JSON.stringify({
      i: index + 1,
      msg: message.body,
      msg_id: `2026-${message.id}`,
      timestamp: 1,
      topic: 'org.fedoraproject.dev.pdc.compose',
      username: 'pdc',
    }),
  ]);
  const pki = createTestPki();
  try {
    await rawRate(frames.slice(0, 5000)); // warm-up
    const raws: number[] = [];
    const unsigneds: number[] = [];
    const signeds: number[] = [];
    // Interleaved rounds, median of each: single runs vary by a third on a shared 2-core machine.
    for (let round = 0; round < ROUNDS; round++) {
      raws.push(await rawRate(frames));
      unsigneds.push(await messengerRate(batch));
      signeds.push(
        await messengerRate(batch.slice(0, signedCount), { certificate: pki.certificate, privateKey: pki.privateKey }),
      );
    }
    const raw = median(raws);
    const unsigned = median(unsigneds);
    const signed = median(signeds);
    console.log(
      `\nfedmsg over ZeroMQ tcp loopback, ${unsignedCount} messages (${signedCount} signed), batches of ${BATCH}, arrival at a SUB, median of ${ROUNDS} rounds`,
    );
    console.log(`  raw zeromq Publisher      ${raw.toFixed(0).padStart(7)} msg/s   ratio 1.00`);
    console.log(
      `  FedmsgMessenger unsigned  ${unsigned.toFixed(0).padStart(7)} msg/s   ratio ${(unsigned / raw).toFixed(2)}`,
    );
    console.log(
      `  FedmsgMessenger signed    ${signed.toFixed(0).padStart(7)} msg/s   ratio ${(signed / raw).toFixed(2)}`,
    );
  } finally {
    pki.remove();
  }
}
