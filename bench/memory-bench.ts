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

/** One reading of the server's memory, in MB: RSS from /proc, the rest from its `process.memoryUsage()`. */
interface MemorySample {
  readonly at: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  /** Of `heapTotal`, V8's young generation and its old space. */
  readonly newSpace: number;
  readonly oldSpace: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

const MB = 1024 * 1024;

/** With `collect`, after a full garbage collection in the server: heapUsed is then its live heap. */
async function sampleMemory(url: string, pid: number, at: number, collect = false): Promise<MemorySample> {
  const usage = (await (await fetch(`${url}/stats/memory${collect ? '?gc=1' : ''}`)).json()) as NodeJS.MemoryUsage & {
    newSpace: number;
    oldSpace: number;
  };
  return {
    at,
    rss: rssMegabytes(pid),
    heapUsed: usage.heapUsed / MB,
    heapTotal: usage.heapTotal / MB,
    newSpace: usage.newSpace / MB,
    oldSpace: usage.oldSpace / MB,
    external: usage.external / MB,
    arrayBuffers: usage.arrayBuffers / MB,
  };
}

function describeSample(sample: MemorySample | undefined): string {
  if (sample === undefined) return 'no sample';
  const { rss, heapUsed, heapTotal, newSpace, oldSpace, external, arrayBuffers } = sample;
  return (
    `RSS ${rss.toFixed(1)}, heapUsed ${heapUsed.toFixed(1)}, heapTotal ${heapTotal.toFixed(1)} ` +
    `(new ${newSpace.toFixed(1)}, old ${oldSpace.toFixed(1)}), ` +
    `external ${external.toFixed(1)}, arrayBuffers ${arrayBuffers.toFixed(1)}`
  );
}

/**
 * The server's memory during `SECONDS` at `RATE` requests per second, one message each, sampled every
 * 5 s: RSS from /proc beside the V8 heap (heapUsed: live objects and garbage not yet collected;
 * heapTotal: what V8 reserved), so that growth of RSS can be told from growth of what the heap holds.
 */
async function rssUnderLoad(label: string, variant: HttpVariant, serverCore: number | undefined): Promise<void> {
  const { child, url } = await startServer('express', variant, {}, serverCore);
  const pid = child.pid ?? 0;
  const samples: MemorySample[] = [];
  // The live heap (after a full collection) once at 1 minute and once at the end, under load.
  const live: MemorySample[] = [];
  const started = Date.now();
  const sampler = setInterval(() => {
    const at = (Date.now() - started) / 1000;
    const collect = (live.length === 0 && at >= 60) || at >= SECONDS - 7;
    sampleMemory(url, pid, at, collect).then(
      (sample) => (collect ? live : samples).push(sample),
      () => undefined,
    );
  }, 5000);
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
    const at = (seconds: number): MemorySample | undefined => samples.find((sample) => sample.at >= seconds);
    const first = at(60);
    const last = samples.at(-1);
    const highest = Math.max(...samples.map(({ rss }) => rss));
    const change = (field: 'rss' | 'heapUsed'): string =>
      first === undefined || last === undefined ? '?' : (last[field] - first[field]).toFixed(1);
    const outsideHeap = (sample: MemorySample | undefined): string =>
      sample === undefined ? '?' : (sample.rss - sample.heapTotal).toFixed(1);
    const liveAt = (sample: MemorySample | undefined): string =>
      sample === undefined ? '?' : `${sample.heapUsed.toFixed(1)} (${sample.at.toFixed(0)} s)`;
    console.log(
      `  ${label.padEnd(34)} ${result.requests.total} requests (${result.non2xx} non-2xx), MB:\n` +
        `    after 1 min:  ${describeSample(first)}\n` +
        `    at the end:   ${describeSample(last)}\n` +
        `    change: RSS ${change('rss')}, heapUsed ${change('heapUsed')}; highest RSS ${highest.toFixed(1)}\n` +
        `    RSS - heapTotal (memory outside V8's heap): ${outsideHeap(first)} after 1 min, ${outsideHeap(last)} at the end\n` +
        `    live heap (heapUsed after a full GC): ${liveAt(live[0])}, then ${liveAt(live.at(-1))}`,
    );
    // The series, one sample a minute, for telling a leak (heapUsed climbing) from heap sizing.
    const series = samples.filter((sample, index) => index % 12 === 11 || sample === last);
    for (const sample of series) console.log(`    ${sample.at.toFixed(0).padStart(4)} s  ${describeSample(sample)}`);
  } finally {
    clearInterval(sampler);
    child.kill('SIGKILL');
  }
}

/**
 * `BENCH_ONLY=memory`: heap per pending message in the memory outbox, then the server's resident
 * memory over `BENCH_MEMORY_SECONDS` (default 300) at `BENCH_MEMORY_RATE` (default 1,000) requests per
 * second: memory outbox and a no-op messenger, then a SQLite outbox whose bus is down the whole time.
 * `BENCH_MEMORY_PARTS=heap` or `rss` runs only the first part or only the second.
 */
export async function runMemoryBenchmark(serverCore: number | undefined): Promise<void> {
  if (process.env.BENCH_MEMORY_PARTS !== 'rss') await heapPerPendingMessage();
  if (process.env.BENCH_MEMORY_PARTS === 'heap') return;
  console.log(`\nResident memory, Express, ${RATE} req/s for ${SECONDS} s, one message per request`);
  await rssUnderLoad('memory outbox, no-op messenger', 'one-message', serverCore);
  await rssUnderLoad('SQLite outbox (normal), bus down', 'one-message-sqlite-outage', serverCore);
}
