import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { NestFactory } from '@nestjs/core';
import {
  MemoryOutboxStore,
  MessageQueue,
  MessagingModule,
  MessengerUnavailableError,
  OutboxAdmin,
} from 'nestjs-messaging';
import { startServer } from './bench-server.js';
import type { HttpVariant } from './http-bench.app.js';

const PENDING = Number(process.env.BENCH_MEMORY_MESSAGES ?? 50_000);
const BODY_BYTES = 214;
const SECONDS = Number(process.env.BENCH_MEMORY_SECONDS ?? 300);
const RATE = Number(process.env.BENCH_MEMORY_RATE ?? 1000);

/** A body whose JSON is exactly `BODY_BYTES` long, different for each `index`. */
export function benchBody(index: number): object {
  const body = {
    new_value: { id: index, name: `release-${index}`, product: 'fedora', version: '42', description: '' },
    url: null,
  };
  body.new_value.description = 'x'.repeat(BODY_BYTES - JSON.stringify(body).length);
  return body;
}

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  (runInNewContext('gc') as () => void)();
}

/** Heap bytes per pending message: `PENDING` messages in a memory outbox whose bus is down. */
async function heapPerPendingMessage(): Promise<void> {
  const app = await NestFactory.createApplicationContext(
    MessagingModule.forRoot({
      messenger: { send: () => Promise.reject(new MessengerUnavailableError('bench: the bus is down')) },
      outbox: new MemoryOutboxStore({ maxMessages: PENDING + 1, allowInProduction: true }),
    }),
    { logger: false },
  );
  await app.init();
  const queue = app.get(MessageQueue);
  // The first attempt finds the bus down; the rest wait for the pause to end.
  await queue.run(() => queue.add('.bench.memory', benchBody(0)));
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  for (let index = 1; index < PENDING; index++) await queue.run(() => queue.add('.bench.memory', benchBody(index)));
  collectGarbage();
  const perMessage = (process.memoryUsage().heapUsed - before) / (PENDING - 1);
  const { pending } = (await app.get(OutboxAdmin).stats()).stored;
  console.log(
    `\nMemory outbox, bus down: ${pending} pending, body ${BODY_BYTES} bytes of JSON: ` +
      `${perMessage.toFixed(0)} heap bytes per pending message (${(perMessage / BODY_BYTES).toFixed(2)}× the body)`,
  );
  await app.close();
}

function rssMegabytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

/** The server's resident memory during `SECONDS` at `RATE` requests per second, one message each. */
async function rssUnderLoad(label: string, variant: HttpVariant, serverCore: number | undefined): Promise<void> {
  const { child, url } = await startServer('express', variant, {}, serverCore);
  const pid = child.pid ?? 0;
  const samples: { at: number; rss: number }[] = [];
  const started = Date.now();
  const sampler = setInterval(() => samples.push({ at: (Date.now() - started) / 1000, rss: rssMegabytes(pid) }), 5000);
  try {
    const result = await autocannon({
      url: `${url}/items`,
      method: 'POST',
      connections: 20,
      overallRate: RATE,
      duration: SECONDS,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench' }),
    });
    clearInterval(sampler);
    const at = (seconds: number): number => samples.find((sample) => sample.at >= seconds)?.rss ?? Number.NaN;
    const last = samples.at(-1)?.rss ?? Number.NaN;
    const highest = Math.max(...samples.map(({ rss }) => rss));
    console.log(
      `  ${label.padEnd(34)} ${result.requests.total} requests (${result.non2xx} non-2xx): RSS after 1 min ` +
        `${at(60).toFixed(1)} MB, at the end ${last.toFixed(1)} MB (${(last - at(60)).toFixed(1)}), highest ${highest.toFixed(1)} MB`,
    );
  } finally {
    clearInterval(sampler);
    child.kill('SIGKILL');
  }
}

/**
 * `BENCH_ONLY=memory`: heap per pending message in the memory outbox, then the server's resident
 * memory over `BENCH_MEMORY_SECONDS` (default 300) at `BENCH_MEMORY_RATE` (default 1,000) requests per
 * second: memory outbox and a no-op messenger, then a SQLite outbox whose bus is down the whole time.
 */
export async function runMemoryBenchmark(serverCore: number | undefined): Promise<void> {
  await heapPerPendingMessage();
  console.log(`\nResident memory, Express, ${RATE} req/s for ${SECONDS} s, one message per request`);
  await rssUnderLoad('memory outbox, no-op messenger', 'one-message', serverCore);
  await rssUnderLoad('SQLite outbox (normal), bus down', 'one-message-sqlite-outage', serverCore);
}
