import autocannon from 'autocannon';
import { HTTP_PLATFORMS, type HttpPlatform } from '../sample-app/http-platform.js';
import { runAmqpBenchmark } from './amqp-bench.js';
import { runFedmsgBenchmark } from './fedmsg-bench.js';
import { runDrainBenchmark, runLatencyBenchmark } from './outbox-bench.js';
import { startServer } from './bench-server.js';
import type { HttpVariant } from './http-bench.app.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

interface Case {
  readonly label: string;
  readonly variant: HttpVariant;
}

const CASES: readonly Case[] = [
  { label: 'bare NestJS', variant: 'bare' },
  { label: 'floor (see README)', variant: 'floor' },
  { label: 'module, 0 messages', variant: 'zero-messages' },
  { label: 'module, 1 message', variant: 'one-message' },
  { label: '1 message, SQLite', variant: 'one-message-sqlite' },
  { label: '1 msg, SQLite normal', variant: 'one-message-sqlite-normal' },
];

async function requestsPerSecond(url: string, seconds: number): Promise<number> {
  const result = await autocannon({
    url: `${url}/items`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${result.non2xx} non-2xx responses and ${result.errors} errors at ${url}`);
  }
  return result.requests.average;
}

async function measure(platform: HttpPlatform, benchCase: Case): Promise<number> {
  const { child, url } = await startServer(platform, benchCase.variant);
  try {
    await requestsPerSecond(url, 1); // warm-up: JIT, connection pools
    return await requestsPerSecond(url, SECONDS);
  } finally {
    child.kill('SIGKILL');
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const only = process.env.BENCH_ONLY; // "http", "fedmsg", "amqp", "latency" or "drain" to run one part

if (only === undefined || only === 'http') await runHttpBenchmark();
if (only === undefined || only === 'fedmsg') await runFedmsgBenchmark();
if (only === undefined || only === 'amqp') await runAmqpBenchmark();
if (only === undefined || only === 'latency') await runLatencyBenchmark();
if (only === undefined || only === 'drain') await runDrainBenchmark();

async function runHttpBenchmark(): Promise<void> {
  console.log(
    `HTTP overhead: POST /items, ${CONNECTIONS} connections, ${SECONDS} s per measurement, ${ROUNDS} round(s), median shown`,
  );
  for (const platform of HTTP_PLATFORMS) {
    const samples = new Map<string, number[]>(CASES.map((benchCase) => [benchCase.label, []]));
    // Interleaved rounds: machine drift hits every variant alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const benchCase of CASES) samples.get(benchCase.label)?.push(await measure(platform, benchCase));
    }
    const bare = median(samples.get(CASES[0].label) ?? []);
    console.log(`\n${platform}`);
    for (const benchCase of CASES) {
      const rate = median(samples.get(benchCase.label) ?? []);
      console.log(
        `  ${benchCase.label.padEnd(22)} ${rate.toFixed(0).padStart(7)} req/s   ratio to bare ${(rate / bare).toFixed(2)}`,
      );
    }
  }
}
